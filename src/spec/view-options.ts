// A service's say over its view (docs/isolation.md "What a service sees"): `shm_size` (the size
// of /dev/shm, as Docker reads it) and stack's own `x-stack-hide` / `x-stack-show`, lists of
// paths to hide beyond the defaults or to leave visible among them (`~/x` means x in every home).
import { posix } from 'node:path';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { parseBytes, SIZE_FORMAT } from './units.js';

/** What the spec says about the service's view. */
export interface ViewOptions {
  /** `shm_size` in bytes (Docker's 64 MiB when absent). */
  readonly shmSizeBytes?: number;
  /** `x-stack-hide`: more paths hidden from the service. */
  readonly hide?: readonly string[];
  /** `x-stack-show`: paths hidden by default that this service may see. */
  readonly show?: readonly string[];
}

/** Reads `shm_size`, `x-stack-hide` and `x-stack-show`; problems go to `report`. */
export function viewOptions(spec: Readonly<Record<string, unknown>>, at: (...rest: (string | number)[]) => KeyPath, report: Report): ViewOptions {
  const out: { shmSizeBytes?: number; hide?: string[]; show?: string[] } = {};
  if (spec.shm_size !== undefined) {
    const size = parseBytes(spec.shm_size);
    if (!size.ok) report.error(at('shm_size'), 'BAD_SIZE', `\`shm_size\` ${size.reason}`, { expected: SIZE_FORMAT });
    else if (size.value > 0) out.shmSizeBytes = size.value;
  }
  for (const [key, field] of [['x-stack-hide', 'hide'], ['x-stack-show', 'show']] as const) {
    const given = spec[key];
    if (given === undefined || given === null) continue;
    const list = typeof given === 'string' ? [given] : given;
    if (!Array.isArray(list)) {
      report.error(at(key), 'BAD_TYPE', `\`${key}\` is not a list of paths`, { expected: 'a list of absolute paths or ~/paths, e.g. [~/.m2, /srv/secrets]' });
      continue;
    }
    const paths: string[] = [];
    list.forEach((p: unknown, i) => {
      const path = typeof given === 'string' ? at(key) : at(key, i);
      if (typeof p !== 'string' || !(p.startsWith('/') || p === '~' || p.startsWith('~/'))) {
        report.error(path, 'BAD_PATH', `${JSON.stringify(p)} is not an absolute path or a ~/path`, { expected: 'an absolute path such as /srv/secrets, or ~/.m2 (in every home)' });
      } else if (p.split('/').some((c) => c === '..')) {
        report.error(path, 'BAD_PATH', `${JSON.stringify(p)} contains \`..\``, { expected: 'a path without `..`' });
      } else paths.push(p.startsWith('~') ? p.replace(/\/+$/, '') || '~' : posix.normalize(p).replace(/(.)\/+$/, '$1'));
    });
    out[field] = paths;
  }
  return out;
}

// `ulimits:` as compose reads it: `nofile: 1024` (soft = hard) or `nofile: {soft: 1024, hard:
// 4096}`, for the resource names Docker knows (go-units); -1 is unlimited. The launcher sets
// them with setrlimit before exec (native/launcher/process.c), so the service inherits them.
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { parseInteger } from './units.js';

/** The resource names Docker accepts (go-units ulimit.go), as `ulimit`/setrlimit know them. */
export const ULIMIT_NAMES: readonly string[] = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
];

/** One resource limit; -1 is unlimited (RLIM_INFINITY). */
export interface Ulimit {
  readonly soft: number;
  readonly hard: number;
}

const EXPECTED = 'a whole number (-1 for unlimited), or {soft: N, hard: N}';

/** Reads `ulimits:`; problems go to `report`; absent or empty gives undefined. */
export function ulimits(spec: unknown, at: (...rest: (string | number)[]) => KeyPath, report: Report): Record<string, Ulimit> | undefined {
  if (spec === undefined || spec === null || typeof spec !== 'object') return undefined;
  const out: Record<string, Ulimit> = {};
  for (const [name, value] of Object.entries(spec as Record<string, unknown>)) {
    if (!ULIMIT_NAMES.includes(name)) {
      const near = ULIMIT_NAMES.find((n) => n.startsWith(name.slice(0, 3)));
      report.error(at('ulimits', name), 'BAD_ULIMIT', `\`${name}\` is not a resource limit`, {
        expected: ULIMIT_NAMES.join(', '),
        ...(near !== undefined && { hint: `did you mean \`${near}\`?` }),
      });
      continue;
    }
    const number = (v: unknown, path: KeyPath): number | undefined => {
      const n = parseInteger(v);
      if (n.ok && n.value >= -1) return n.value;
      report.error(path, 'BAD_ULIMIT', `\`${String(v)}\` is not a limit`, { expected: EXPECTED });
      return undefined;
    };
    let soft: number | undefined;
    let hard: number | undefined;
    if (value !== null && typeof value === 'object') {
      const v = value as { soft?: unknown; hard?: unknown };
      if (v.soft === undefined || v.hard === undefined) {
        report.error(at('ulimits', name), 'BAD_ULIMIT', `\`${name}\` needs both soft and hard`, { expected: '{soft: N, hard: N}', hint: `or a single number for both: ${name}: N` });
        continue;
      }
      soft = number(v.soft, at('ulimits', name, 'soft'));
      hard = number(v.hard, at('ulimits', name, 'hard'));
    } else soft = hard = number(value, at('ulimits', name));
    if (soft === undefined || hard === undefined) continue;
    const unlimited = (n: number) => (n === -1 ? Infinity : n);
    if (unlimited(soft) > unlimited(hard)) {
      report.error(at('ulimits', name), 'BAD_ULIMIT', `the soft limit of \`${name}\` (${soft}) is above its hard limit (${hard})`, { expected: 'soft ≤ hard', hint: 'raise hard, or lower soft' });
      continue;
    }
    out[name] = { soft, hard };
  }
  return Object.keys(out).length > 0 ? Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1))) : undefined;
}

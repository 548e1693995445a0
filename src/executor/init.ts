// `init: true`: a reaping init that forwards signals runs as the service's pid 1 with the
// workload as its child. stack ships none; it uses the first of tini, catatonit or dumb-init
// installed on the host (all take `init -- program args...`).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** The inits stack knows, in order of preference. */
export const INIT_PROGRAMS = ['tini', 'catatonit', 'dumb-init'] as const;

/** Where packages put them beyond PATH (Debian's catatonit lives in /usr/libexec/podman). */
const EXTRA_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/libexec/podman'];

/** The absolute path of the first init found in `dirs` (default: PATH, then the usual places). */
export function findInit(dirs: readonly string[] = [...(process.env.PATH ?? '').split(':'), ...EXTRA_DIRS]): string | undefined {
  for (const program of INIT_PROGRAMS) {
    for (const dir of dirs) {
      if (!dir.startsWith('/')) continue;
      const candidate = join(dir, program);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The init for a service with `init: true`, or a UserError naming the package to install. */
export function requireInit(service: string, dirs?: readonly string[]): string {
  const found = findInit(dirs);
  if (found !== undefined) return found;
  throw new UserError(
    'INIT_NOT_FOUND',
    `service "${service}" has init: true, but none of ${INIT_PROGRAMS.join(', ')} is installed`,
    'install one: apt-get install tini',
  );
}

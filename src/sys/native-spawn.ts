// Spawning a program born in a cgroup v2 group, through libstack.so (native/lib/spawn.c, built
// by scripts/build-native.mjs): clone3's CLONE_INTO_CGROUP places the child as it is made. A
// launcher spawned by posix_spawn and then moved into its project's monitor group through
// cgroup.procs made the kernel wait for an RCU grace period (10-20 ms here) while it held the
// cgroup mutex every mkdir and move of a cgroup takes: the CLI's own mkdirs of the services'
// groups waited with it (traced with the cgroup tracepoints: an `up -d` of 1 service, the first
// launcher's move 11.9 ms, the CLI's first mkdir right after it ended). spawn.ts uses this for a
// child given a `cgroup` folder and posix_spawn for the others, and for that one too where this
// cannot make a child (no libstack.so, no koffi, another architecture than x86-64, a
// kernel before 5.7, a seccomp filter refusing clone3, a group that cannot take a process).
import { openSync, closeSync, constants as fsConstants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelError } from '../errors.js';
import { errnoName } from './errno.js';
import { callAsync, loadKoffi } from './koffi.js';
import type { SpawnRequest } from './libc.js';

/** The library built by `npm run build`. */
export const LIBSTACK_PATH = fileURLToPath(new URL('../../native/build/libstack.so', import.meta.url));

type StackSpawn = ((...args: unknown[]) => number) & { async: (...args: unknown[]) => void };

let bound: StackSpawn | null | undefined;

/** What clone3 says where it can never make such a child (no clone3: ENOSYS, E2BIG before 5.7; a seccomp filter: EPERM, EINVAL): not asked again. */
const NEVER = new Set(['ENOSYS', 'E2BIG', 'EPERM', 'EINVAL']);

function stackSpawn(): StackSpawn | null {
  if (bound !== undefined) return bound;
  if (process.arch !== 'x64') return (bound = null); // native/lib/spawn.c's trampoline is x86-64's
  try {
    const lib = loadKoffi().load(LIBSTACK_PATH);
    bound = lib.func(
      'int stack_spawn(const char *path, const char **argv, const char **envp, const int *fds, int nfds, const char *cwd, int new_session, int cgroup_fd, _Out_ int *child_failed)',
    ) as unknown as StackSpawn;
  } catch {
    bound = null; // not built, or koffi cannot be loaded here
  }
  return bound;
}

/**
 * Runs `request` with its child born in the cgroup v2 folder `cgroup`, on one of libuv's
 * threads as posixSpawn does (the child runs on this process's memory until it execs). Resolves
 * to the pid; to undefined when no child was made (see the header: the caller spawns it another
 * way); rejects with a KernelError when the child could not exec (ENOENT, EACCES), set its
 * session, descriptors or folder, as posix_spawn would. `file` must be a path: PATH is not searched.
 */
export function spawnIntoCgroup(request: SpawnRequest, cgroup: string): Promise<number | undefined> {
  const call = stackSpawn();
  if (call === null || !request.file.includes('/')) return Promise.resolve(undefined);
  let fd: number;
  try {
    fd = openSync(cgroup, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch {
    return Promise.resolve(undefined); // gone (a `down` removed it meanwhile), or not a folder
  }
  return new Promise<number | undefined>((resolve, reject) => {
    const childFailed = [0];
    const done = (error: unknown, ret: number): void => {
      closeSync(fd);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (ret > 0) resolve(ret);
      else if (childFailed[0] === 1) reject(new KernelError(`spawn ${request.file}`, errnoName(-ret), -ret));
      else {
        if (NEVER.has(errnoName(-ret))) bound = null;
        resolve(undefined);
      }
    };
    try {
      callAsync(
        (settle) =>
          call.async(
            request.file,
            [...request.argv, null],
            [...request.env, null],
            [...request.stdio],
            request.stdio.length,
            request.cwd ?? null,
            request.newSession === true ? 1 : 0,
            fd,
            childFailed,
            settle,
          ),
        done,
      );
    } catch (e) {
      closeSync(fd);
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

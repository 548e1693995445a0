// Named network namespaces, made the way `ip netns` makes them but through system calls: a
// namespace is kept alive by a bind mount of its nsfs file at /run/netns/<name>, so `ip netns`,
// `nsenter --net=` and our handles all find it by name.
import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KernelError } from '../errors.js';
import {
  CLONE_NEWNET, close, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, mount, O_CLOEXEC, O_RDONLY, open, setns,
  umount2, unshare,
} from '../sys/libc.js';

/** Where named network namespaces are mounted (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

/** The bind-mount path of a named namespace. */
export function netnsPath(name: string): string {
  if (!name || name.includes('/') || name === '.' || name === '..') {
    throw new TypeError(`bad netns name ${JSON.stringify(name)}`);
  }
  return join(NETNS_RUN_DIR, name);
}

/** The calling thread's own network namespace file (a worker thread may differ from the process). */
const THREAD_NETNS = '/proc/thread-self/ns/net';

let runDirShared = false;

/**
 * Makes /run/netns a shared mount point, bind-mounting it onto itself first if it is not a
 * mount point yet, so namespaces mounted there show up in every mount namespace (as `ip netns`).
 */
function ensureRunDir(): void {
  if (runDirShared) return;
  mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  try {
    mount('none', NETNS_RUN_DIR, null, MS_SHARED | MS_REC);
  } catch (e) {
    if (!(e instanceof KernelError && e.errno === 'EINVAL')) throw e;
    mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC);
    mount('none', NETNS_RUN_DIR, null, MS_SHARED | MS_REC);
  }
  runDirShared = true;
}

/**
 * Creates a named network namespace. Equivalent to: `ip netns add $name`.
 * The calling thread unshares into the new namespace only long enough to bind-mount it, and is
 * always moved back to the namespace it was in. Fails with EEXIST when the name is taken.
 * `inside` runs in the new namespace once it is mounted, before the thread goes back (a socket
 * or a /proc/sys/net file opened there belongs to it): what it throws is thrown once the thread
 * is back, the namespace left made.
 */
export function netnsAdd(name: string, inside?: () => void): void {
  const path = netnsPath(name);
  ensureRunDir();
  try {
    closeSync(openSync(path, 'wx', 0o444));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new KernelError(`create netns ${name} (${path})`, err.code ?? 'EIO', Math.abs(err.errno ?? 5), { cause: e });
  }
  const original = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
  let failedInside: { error: unknown } | undefined;
  try {
    unshare(CLONE_NEWNET, `CLONE_NEWNET for netns ${name}`);
    try {
      mount(THREAD_NETNS, path, 'none', MS_BIND);
      try {
        inside?.();
      } catch (error) {
        failedInside = { error };
      }
    } finally {
      setns(original, CLONE_NEWNET, `back to the original netns after creating ${name}`);
    }
  } catch (e) {
    try {
      unlinkSync(path);
    } catch {
      // The mount point is ours; if it cannot go, the error below still says why we failed.
    }
    throw e;
  } finally {
    close(original);
  }
  if (failedInside) throw failedInside.error;
}

/**
 * Deletes a named network namespace. Equivalent to: `ip netns delete $name`.
 * A namespace that is already gone is success (CNI DEL semantics). The namespace itself lives
 * on while a process or an open fd still holds it.
 */
export function netnsDelete(name: string): void {
  const path = netnsPath(name);
  try {
    umount2(path, MNT_DETACH);
  } catch (e) {
    // ENOENT: no such file; EINVAL: the file is there but not a mount point (half-made).
    if (!(e instanceof KernelError && (e.errno === 'ENOENT' || e.errno === 'EINVAL'))) throw e;
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** The names of all named network namespaces. Equivalent to: `ip netns list`. */
export function netnsList(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Whether a named network namespace exists. */
export function netnsExists(name: string): boolean {
  return netnsList().includes(name);
}

/** Opens a named namespace's file (O_RDONLY|O_CLOEXEC); the caller closes the fd. */
export function netnsOpen(name: string): number {
  return open(netnsPath(name), O_RDONLY | O_CLOEXEC);
}

/** Opens the calling thread's current network namespace; the caller closes the fd. */
export function netnsOpenCurrent(): number {
  return open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
}

/**
 * Runs `fn` with the calling thread inside a named namespace and switches back before
 * returning, even when `fn` throws. `fn` must be synchronous: no other JavaScript may run in
 * between, or its sockets would open in the wrong namespace.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  return inNetnsAt(netnsPath(name), fn);
}

/** inNetns for the namespace bind-mounted (or /proc/PID/ns/net) at `path`. */
export function inNetnsAt<T>(path: string, fn: () => T): T {
  const original = netnsOpenCurrent();
  try {
    const target = open(path, O_RDONLY | O_CLOEXEC);
    try {
      setns(target, CLONE_NEWNET, `netns ${path}`);
    } finally {
      close(target);
    }
    try {
      return fn();
    } finally {
      setns(original, CLONE_NEWNET, `back to the original netns from ${path}`);
    }
  } finally {
    close(original);
  }
}

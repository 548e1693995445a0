// The per-project lock: two `stack up` (or an `up` and a `down`) in one project never act at
// the same time. Held only during observe → plan → execute. flock(2), not a pid file: the
// kernel drops the lock when its holder dies, so a SIGKILLed `stack up` never leaves a stale
// one. The holder unlinks the file before unlocking; a waiter that then wins the lock on the
// unlinked file notices (its inode is no longer the path's) and tries again on a fresh one.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelError, UserError } from '../errors.js';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from '../sys/libc.js';
import { removeFile } from './atomic.js';
import { heldHere, lockPath } from './held-locks.js';
import { projectRunDir, STATE_DIR_MODE, type StateRoots } from './paths.js';

/** What the lock file says about its holder, for the message of whoever waits. */
export interface LockHolder {
  readonly pid: number;
  /** `stack up`, `stack down`, ... */
  readonly command: string;
  /** ISO time the lock was taken. */
  readonly since: string;
}

/** A held lock; release() is idempotent. */
export interface ProjectLock {
  readonly path: string;
  release(): Promise<void>;
}

/** How to take the lock. */
export interface LockOptions {
  /** What the holder is doing, written in the file for others to read (`stack up`). */
  readonly command: string;
  /** Wait for the holder (default), or fail at once with UserError `LOCKED`. */
  readonly wait?: boolean;
  /** Called once when the lock is busy and we start waiting, with what holds it. */
  readonly onWait?: (holder: LockHolder | undefined) => void;
  /** Gives up waiting (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Poll interval while waiting (default 50 ms). */
  readonly pollMs?: number;
}

export { holdsProjectLock, lockPath } from './held-locks.js';

/** Who holds the lock, as its file says (undefined when unreadable or empty). */
export function readLockHolder(path: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.command === 'string' && typeof value.since === 'string')
      return { pid: value.pid, command: value.command, since: value.since };
  } catch {
    // no file, or a holder that has not written it yet
  }
  return undefined;
}

/** `stack up (pid 123, since 12:00:01)`: the holder for a human. */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another stack command';
  return `\`${holder.command}\` (pid ${holder.pid}, since ${holder.since.slice(11, 19)})`;
}

/** One attempt: the lock on the file that is at `path` now, or undefined when it is busy. */
function tryLock(path: string, dir: string): number | undefined {
  mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
  let fd: number;
  try {
    fd = openSync(path, 'a+', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // folder pruned meanwhile
    throw e;
  }
  try {
    flock(fd, LOCK_EX | LOCK_NB, path);
  } catch (e) {
    closeSync(fd);
    if (e instanceof KernelError && (e.errno === 'EAGAIN' || e.errno === 'EINTR')) return undefined;
    throw e;
  }
  let current: number | undefined;
  try {
    current = statSync(path).ino;
  } catch {
    current = undefined;
  }
  if (current !== fstatSync(fd).ino) {
    closeSync(fd); // we won a file its holder had already unlinked: try the new one
    return undefined;
  }
  return fd;
}

/**
 * Takes the project's lock, waiting for its holder (polling LOCK_EX|LOCK_NB) unless `wait` is
 * false, in which case a busy lock is UserError `LOCKED` naming the holder.
 */
export function acquireProjectLock(roots: StateRoots, project: string, options: LockOptions): Promise<ProjectLock> {
  return acquireFileLock(lockPath(roots, project), projectRunDir(roots, project), `project ${project}`, options);
}

/** The same lock on any file (`what` names it in messages); the file goes on release, `dir` too when empty. */
export async function acquireFileLock(path: string, dir: string, what: string, options: LockOptions): Promise<ProjectLock> {
  let told = false;
  for (;;) {
    const fd = tryLock(path, dir);
    if (fd !== undefined) return held(path, dir, fd, options.command);
    const holder = readLockHolder(path);
    if (options.wait === false) {
      throw new UserError(
        'LOCKED',
        `${what} is locked by ${describeHolder(holder)}`,
        'wait for it to finish, or run again without --no-lock-wait to wait',
      );
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    options.signal?.throwIfAborted();
    await sleep(options.pollMs ?? 50, undefined, options.signal ? { signal: options.signal } : {});
  }
}


function held(path: string, dir: string, fd: number, command: string): ProjectLock {
  const holder: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
  // A line a holder left (killed before its release removed the file) goes first. Only then:
  // ext4 flushes a file truncated to nothing when it is closed (auto_da_alloc), and the release's
  // close of the lock file, removed already, took 4.6 ms of an `up -d` of 1 (CPU profile; 0.17-0.56
  // ms alone in /tmp, 0.006 without the truncation).
  if (fstatSync(fd).size > 0) ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
  let open = true;
  heldHere.add(path);
  return {
    path,
    async release() {
      if (!open) return;
      open = false;
      heldHere.delete(path);
      // Unlink first, unlock second: whoever wins the lock next sees the file is gone and retries.
      await removeFile(path, [dir]);
      try {
        flock(fd, LOCK_UN, path);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * Whether some process holds the project's lock right now (`stack gc` leaves such a project
 * alone). Probing takes the lock for an instant when it is free.
 */
export function projectLocked(roots: StateRoots, project: string): boolean {
  const path = lockPath(roots, project);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false; // no lock file: nobody holds it (holders keep theirs until release)
  }
  try {
    flock(fd, LOCK_EX | LOCK_NB, path);
    flock(fd, LOCK_UN, path);
    return false;
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'EAGAIN') return true;
    throw e;
  } finally {
    closeSync(fd);
  }
}

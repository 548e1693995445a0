// Pins: how a pull tells a concurrent `stack rmi` / `stack image prune` "I am about to name this
// layer (or blob) in a record". A pin is a shared flock(2) on `locks/<name>.pin`, taken when a pull
// finds a layer present (or starts unpacking it, or stores a blob) and dropped once the record
// naming it is written; the kernel drops it when the process dies. A removal takes the same file
// exclusively without waiting, and leaves the item alone when it cannot: the pull keeps its layer.
// As in state/lock.ts, a removal unlinks the file before unlocking, so a pinner that won a lock
// on an unlinked file notices (its inode is no longer the path's) and pins the new one.
import { closeSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelError } from '../errors.js';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from '../sys/libc.js';
import { STATE_DIR_MODE } from '../state/paths.js';

const LOCK_SH = 1;

/** Pins this process holds: pin file → its descriptor. One per file: pinning twice is pinning. */
const held = new Map<string, number>();

/** One attempt at `operation` on the file at `path` now: its descriptor, or why not. */
function tryFlock(path: string, operation: number): number | 'busy' | 'replaced' {
  mkdirSync(dirname(path), { recursive: true, mode: STATE_DIR_MODE });
  const fd = openSync(path, 'a+', 0o600);
  try {
    flock(fd, operation | LOCK_NB, path);
  } catch (e) {
    closeSync(fd);
    if (e instanceof KernelError && (e.errno === 'EAGAIN' || e.errno === 'EINTR')) return 'busy';
    throw e;
  }
  let current: number | undefined;
  try {
    current = statSync(path).ino;
  } catch {
    current = undefined;
  }
  if (current !== fstatSync(fd).ino) {
    closeSync(fd);
    return 'replaced';
  }
  return fd;
}

/** Pins `path` (shared), waiting out a removal that holds it for an instant. */
export async function pin(path: string): Promise<void> {
  for (;;) {
    if (held.has(path)) return;
    const fd = tryFlock(path, LOCK_SH);
    if (typeof fd === 'number') {
      if (held.has(path)) closeSync(fd); // another pinner of this process won meanwhile
      else held.set(path, fd);
      return;
    }
    await sleep(10);
  }
}

/** Drops this process's pin of `path` (a record now keeps the item); none held: nothing to do. */
export function unpin(path: string): void {
  const fd = held.get(path);
  if (fd === undefined) return;
  held.delete(path);
  closeSync(fd); // closing the descriptor drops the flock
}

/** Whether this process pins `path`. */
export function pinnedHere(path: string): boolean {
  return held.has(path);
}

/**
 * Takes `path` exclusively without waiting: undefined when someone pins it (in this process or
 * another). release() unlinks the file, then unlocks.
 */
export function claimUnpinned(path: string): { release(): Promise<void> } | undefined {
  if (held.has(path)) return undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const fd = tryFlock(path, LOCK_EX);
    if (fd === 'busy') return undefined;
    if (fd === 'replaced') continue;
    let open = true;
    return {
      async release() {
        if (!open) return;
        open = false;
        await rm(path, { force: true });
        try {
          flock(fd, LOCK_UN, path);
        } finally {
          closeSync(fd);
        }
      },
    };
  }
  return undefined;
}

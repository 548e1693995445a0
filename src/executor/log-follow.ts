// Following a service's log as the monitor writes it (`stack up` streaming each service's
// output, `stack logs -f`): reads what is appended, and when the monitor rotates the file
// (renames it to <log>.1 and starts a new one) finishes the old file before moving on.
// Woken by fs.watch on the folder, with a poll as the fallback.
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineJoiner, parseLogRecord, type LogLine } from './logs.js';

/** Where to start and how to stop. */
export interface FollowOptions {
  /** Ends the iteration (pieces of lines still pending are yielded as incomplete). */
  readonly signal: AbortSignal;
  /** `start` of the live file, its `end` (default), or a byte offset in it (its size before a launch). */
  readonly from?: 'start' | 'end' | number;
  /** Longest wait without a change notification. */
  readonly pollMs?: number;
}

interface OpenLog {
  readonly handle: FileHandle;
  readonly ino: number;
}

async function openLog(path: string): Promise<OpenLog | undefined> {
  try {
    const handle = await open(path, 'r');
    return { handle, ino: (await handle.stat()).ino };
  } catch {
    return undefined; // not created yet, or rotated away between two calls
  }
}

/** Everything from `offset` to the end of the file. */
async function readRest(handle: FileHandle, offset: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (;;) {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    if (bytesRead === 0) return Buffer.concat(chunks);
    chunks.push(buffer.subarray(0, bytesRead));
    offset += bytesRead;
  }
}

/** Waits for a change in the log's folder (fs.watch), at most `ms`, or until aborted. */
function folderWaiter(path: string): { wait: (ms: number, signal: AbortSignal) => Promise<void>; close: () => void } {
  let wake: (() => void) | undefined;
  let dirty = false;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && !String(name).startsWith(basename(path))) return;
      dirty = true;
      wake?.();
    });
  } catch {
    watcher = undefined; // no inotify here: the poll alone
  }
  return {
    wait: async (ms, signal) => {
      if (dirty || signal.aborted) {
        dirty = false;
        return;
      }
      const woken = new Promise<void>((resolve) => (wake = resolve));
      await Promise.race([woken, sleep(ms, undefined, { signal }).catch(() => undefined)]);
      wake = undefined;
      dirty = false;
    },
    close: () => watcher?.close(),
  };
}

/** Yields the log's lines as they are written, across rotations, until `signal` aborts. */
export async function* followLog(path: string, options: FollowOptions): AsyncGenerator<LogLine> {
  const { signal, pollMs = 200 } = options;
  const joiner = new LineJoiner();
  const folder = folderWaiter(path);
  let current: OpenLog | undefined;
  let offset = 0;
  let partial = Buffer.alloc(0); // a record line not yet ended by its newline
  const take = function* (bytes: Buffer): Generator<LogLine> {
    let data = partial.length > 0 ? Buffer.concat([partial, bytes]) : bytes;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      const record = parseLogRecord(data.subarray(0, nl).toString('utf8'));
      data = data.subarray(nl + 1);
      const line = record && joiner.push(record);
      if (line) yield line;
    }
    partial = Buffer.from(data);
  };
  try {
    let first = true; // `from` applies to the file there when following starts; later ones are new
    while (!signal.aborted) {
      if (current === undefined) {
        current = await openLog(path);
        const from = first ? (options.from ?? 'end') : 'start';
        first = false;
        if (current !== undefined) {
          const size = (await current.handle.stat()).size;
          offset = from === 'start' ? 0 : from === 'end' ? size : Math.min(from, size);
        }
      }
      if (current !== undefined) {
        const bytes = await readRest(current.handle, offset);
        offset += bytes.length;
        yield* take(bytes);
        const now = await stat(path).catch(() => undefined);
        if (now === undefined || now.ino !== current.ino) {
          // Rotated: the monitor closed the old file before renaming it, so what is left
          // in it now is all there will be.
          const rest = await readRest(current.handle, offset);
          yield* take(rest);
          await current.handle.close();
          current = undefined;
          partial = Buffer.alloc(0);
          continue;
        }
      }
      await folder.wait(pollMs, signal);
    }
  } finally {
    folder.close();
    await current?.handle.close();
  }
  yield* joiner.flush();
}

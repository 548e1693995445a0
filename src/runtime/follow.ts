// Follows services' log files as the monitor writes them (`stack up` in the foreground, later
// `logs -f`): polls each file, reads what was appended, and across a rotation finishes the
// rotated file before starting on the new one. Lines come out whole (logs.ts joins P pieces).
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineJoiner, parseLogRecords, type LogLine } from './logs.js';

/** One log to follow. */
export interface FollowedLog {
  readonly service: string;
  readonly path: string;
}

interface Cursor {
  fd: number | undefined;
  ino: number;
  offset: number;
  /** Bytes after the last newline read: a record still being written. */
  rest: Buffer;
  /** P pieces waiting for their F, joined as bytes (a piece may end inside a UTF-8 character). */
  joiner: LineJoiner;
  /** The file (or its absence) was looked at once: later files are read from their start. */
  seen?: boolean;
}

function readNew(cursor: Cursor): Buffer {
  if (cursor.fd === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(cursor.fd, buffer, 0, buffer.length, cursor.offset);
    if (n <= 0) break;
    cursor.offset += n;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function lines(cursor: Cursor, data: Buffer): LogLine[] {
  const all = Buffer.concat([cursor.rest, data]);
  const end = all.lastIndexOf(0x0a);
  cursor.rest = end < 0 ? all : all.subarray(end + 1);
  return parseLogRecords(end < 0 ? Buffer.alloc(0) : all.subarray(0, end)).flatMap((r) => cursor.joiner.push(r) ?? []);
}

/** Calls `onLine` for every line of the logs, from their start, until `signal` aborts. */
export async function followLogs(
  logs: readonly FollowedLog[],
  onLine: (service: string, line: LogLine) => void,
  signal: AbortSignal,
  pollMs = 100,
  /** Start at the current end of each file that exists now (`logs -f` after printing the tail). */
  fromEnd = false,
): Promise<void> {
  const cursors = new Map<string, Cursor>(
    logs.map((l) => [l.path, { fd: undefined, ino: -1, offset: 0, rest: Buffer.alloc(0), joiner: new LineJoiner() }]),
  );
  try {
    for (;;) {
      const last = signal.aborted; // one more pass after the abort: the last lines of stopped services
      for (const log of logs) {
        const cursor = cursors.get(log.path) as Cursor;
        let ino: number | undefined;
        try {
          ino = statSync(log.path).ino;
        } catch {
          ino = undefined;
        }
        if (cursor.fd !== undefined && ino !== cursor.ino) {
          // Rotated (or removed): what the old file still held, then the new one from its start.
          for (const line of lines(cursor, readNew(cursor))) onLine(log.service, line);
          closeSync(cursor.fd);
          Object.assign(cursor, { fd: undefined, offset: 0, rest: Buffer.alloc(0) });
        }
        if (cursor.fd === undefined && ino !== undefined) {
          try {
            cursor.fd = openSync(log.path, 'r');
            const stat = fstatSync(cursor.fd);
            cursor.ino = stat.ino;
            if (fromEnd && !cursor.seen) cursor.offset = stat.size;
          } catch {
            cursor.fd = undefined;
          }
        }
        cursor.seen = true;
        for (const line of lines(cursor, readNew(cursor))) onLine(log.service, line);
      }
      if (last) break;
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    for (const c of cursors.values()) if (c.fd !== undefined) closeSync(c.fd);
  }
}

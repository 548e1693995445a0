// Follows services' log files as the monitor writes them (`stack up` in the foreground, later
// `logs -f`): polls each file, reads what was appended, and across a rotation finishes the
// rotated file before starting on the new one. Lines come out whole (logs.ts joins P pieces).
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseLogRecords, type LogLine } from './logs.js';

/** One log to follow. */
export interface FollowedLog {
  readonly service: string;
  readonly path: string;
}

interface Cursor {
  fd: number | undefined;
  ino: number;
  offset: number;
  rest: string;
  pending: Map<string, { time: string; text: string }>;
  /** The file (or its absence) was looked at once: later files are read from their start. */
  seen?: boolean;
}

function readNew(cursor: Cursor): string {
  if (cursor.fd === undefined) return '';
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(cursor.fd, buffer, 0, buffer.length, cursor.offset);
    if (n <= 0) break;
    cursor.offset += n;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function lines(cursor: Cursor, text: string): LogLine[] {
  const all = cursor.rest + text;
  const end = all.lastIndexOf('\n');
  cursor.rest = end < 0 ? all : all.slice(end + 1);
  const out: LogLine[] = [];
  for (const r of parseLogRecords(end < 0 ? '' : all.slice(0, end))) {
    const before = cursor.pending.get(r.stream);
    const joined = { time: before?.time ?? r.time, text: (before?.text ?? '') + r.text };
    if (r.final) {
      cursor.pending.delete(r.stream);
      out.push({ ...joined, stream: r.stream, complete: true });
    } else cursor.pending.set(r.stream, joined);
  }
  return out;
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
    logs.map((l) => [l.path, { fd: undefined, ino: -1, offset: 0, rest: '', pending: new Map() }]),
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
          Object.assign(cursor, { fd: undefined, offset: 0, rest: '' });
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

// Follows services' log files as the monitor writes them (`stack up` in the foreground, later
// `logs -f`): woken by inotify on the logs' folders (an append, a rotation's rename), reads
// what was appended, and across a rotation finishes the rotated file before starting on the new
// one. Lines come out whole (logs.ts joins P pieces); `stack attach` takes the records as they
// come (a prompt without its newline shows at once), from the file's end.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { LineJoiner, logFiles, parseLogRecords, type LogLine, type LogRecord } from './logs.js';

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
}

/**
 * Where following a log goes on (followLogs' `start`): its file as opened when its past lines
 * were read, the offset after the last whole record read then, and the pieces of a line that
 * had not ended.
 */
export interface FollowStart {
  readonly fd: number;
  readonly ino: number;
  readonly offset: number;
  readonly joiner: LineJoiner;
}

/**
 * The lines a log holds now, oldest first (`tail` keeps the last n), and where following it goes
 * on (`logs -f`). The live file is opened first and read through that descriptor up to its last
 * whole record, and the follower goes on from there on the same descriptor: a line written
 * between the read and the following is told once (read by path, then followed from the file's
 * end as a later look found it, such a line was lost). A file rotated meanwhile is read once: a
 * rotated file that is the one opened is left to the descriptor. A line whose pieces have not
 * all come is told once its end does. No live file: the lines of the rotated ones, and no start.
 */
export function readLogToFollow(logPath: string, options: { tail?: number } = {}): { lines: LogLine[]; start?: FollowStart } {
  let live: { fd: number; ino: number } | undefined;
  try {
    const fd = openSync(logPath, 'r');
    try {
      live = { fd, ino: fstatSync(fd).ino };
    } catch {
      closeSync(fd);
    }
  } catch {
    live = undefined; // none yet, or rotated away this instant: followed from its start
  }
  try {
    const records: LogRecord[] = [];
    for (const file of logFiles(logPath)) {
      if (file === logPath) continue;
      // Opened, then known by its descriptor: one renamed meanwhile is still the file looked at.
      let fd: number | undefined;
      try {
        fd = openSync(file, 'r');
        if (live !== undefined && fstatSync(fd).ino === live.ino) continue; // the live file, rotated since it was opened
        records.push(...parseLogRecords(readFileSync(fd)));
      } catch {
        // rotated away while reading
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    let offset = 0;
    if (live !== undefined) {
      const data = readNew({ fd: live.fd, offset: 0 });
      offset = data.lastIndexOf(0x0a) + 1; // a record still being written is the follower's
      records.push(...parseLogRecords(data.subarray(0, offset)));
    }
    const joiner = new LineJoiner();
    const all = records.flatMap((r) => joiner.push(r) ?? []);
    const lines = options.tail === undefined ? all : all.slice(Math.max(0, all.length - options.tail));
    if (live === undefined) return { lines: [...lines, ...joiner.flush()] };
    return { lines, start: { fd: live.fd, ino: live.ino, offset, joiner } };
  } catch (e) {
    if (live !== undefined) closeSync(live.fd); // a read that failed (EIO): the descriptor is not handed over
    throw e;
  }
}

/** What `cursor`'s file holds from its offset on, the offset moved past it. */
function readNew(cursor: Pick<Cursor, 'fd' | 'offset'>): Buffer {
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

/** The whole records of what was read after `cursor.rest`; what follows the last newline becomes the rest. */
function records(cursor: Cursor, data: Buffer): LogRecord[] {
  const all = Buffer.concat([cursor.rest, data]);
  const end = all.lastIndexOf(0x0a);
  cursor.rest = end < 0 ? all : all.subarray(end + 1);
  return parseLogRecords(end < 0 ? Buffer.alloc(0) : all.subarray(0, end));
}

/** A look at the files at least this often when every log's folder is watched (the watch's safety net). */
const WATCHED_LOOK_MS = 1000;

/**
 * Calls `onLine` for every line of the logs until `signal` aborts: from where `start` says for a
 * log it has (readLogToFollow; its descriptor is then the follower's, closed at the end), else
 * from the start of its files. Each change in a log's folder wakes it; it also looks every
 * `pollMs` while a folder cannot be watched (not made yet), and every second (or `pollMs`, when
 * longer) besides.
 */
export async function followLogs(
  logs: readonly FollowedLog[],
  onLine: (service: string, line: LogLine) => void,
  signal: AbortSignal,
  pollMs = 100,
  start: ReadonlyMap<string, FollowStart> = new Map(),
): Promise<void> {
  const joiners = new Map(logs.map((l) => [l.path, start.get(l.path)?.joiner ?? new LineJoiner()]));
  await followRecords(
    logs,
    (log, record) => {
      const line = joiners.get(log.path)!.push(record);
      if (line !== undefined) onLine(log.service, line);
    },
    signal,
    pollMs,
    start,
  );
}

/**
 * Calls `onRecord` for each record the log at `path` gets from now on, as the monitor writes it
 * (a piece of a line as it comes), until `signal` aborts; a log not there yet from its start.
 */
export async function followLogFromNow(path: string, onRecord: (record: LogRecord) => void, signal: AbortSignal): Promise<void> {
  const start = new Map<string, Pick<FollowStart, 'fd' | 'ino' | 'offset'>>();
  try {
    const fd = openSync(path, 'r');
    const st = fstatSync(fd);
    start.set(path, { fd, ino: st.ino, offset: st.size });
  } catch {
    // none yet: followed from its start once it is there
  }
  await followRecords([{ service: '', path }], (_log, record) => onRecord(record), signal, 100, start);
}

/** followLogs' loop, record by record: the wakes, the looks, the rotations. */
async function followRecords(
  logs: readonly FollowedLog[],
  onRecord: (log: FollowedLog, record: LogRecord) => void,
  signal: AbortSignal,
  pollMs: number,
  start: ReadonlyMap<string, Pick<FollowStart, 'fd' | 'ino' | 'offset'>>,
): Promise<void> {
  const cursors = new Map<string, Cursor>(
    logs.map((l) => {
      const from = start.get(l.path);
      const cursor: Cursor = from === undefined ? { fd: undefined, ino: -1, offset: 0, rest: Buffer.alloc(0) } : { fd: from.fd, ino: from.ino, offset: from.offset, rest: Buffer.alloc(0) };
      return [l.path, cursor];
    }),
  );
  let wake: (() => void) | undefined;
  const folders = [...new Set(logs.map((l) => dirname(l.path)))];
  const watchers = new Map<string, FSWatcher>();
  const watchFolders = (): void => {
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, () => wake?.());
        watcher.on('error', () => undefined);
        watchers.set(folder, watcher);
      } catch {
        // not there yet (a service not started): looked at every pollMs until it is
      }
    }
  };
  const nap = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      wake = done;
    });
  try {
    for (;;) {
      watchFolders();
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
          for (const record of records(cursor, readNew(cursor))) onRecord(log, record);
          closeSync(cursor.fd);
          Object.assign(cursor, { fd: undefined, offset: 0, rest: Buffer.alloc(0) });
        }
        if (cursor.fd === undefined && ino !== undefined) {
          try {
            cursor.fd = openSync(log.path, 'r');
            cursor.ino = fstatSync(cursor.fd).ino;
          } catch {
            if (cursor.fd !== undefined) closeSync(cursor.fd);
            cursor.fd = undefined;
          }
        }
        for (const record of records(cursor, readNew(cursor))) onRecord(log, record);
      }
      if (last) break;
      await nap(watchers.size === folders.length ? Math.max(pollMs, WATCHED_LOOK_MS) : pollMs);
    }
  } finally {
    for (const watcher of watchers.values()) watcher.close();
    for (const c of cursors.values()) if (c.fd !== undefined) closeSync(c.fd);
  }
}

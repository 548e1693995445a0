// `stack attach`'s side of a running service: its output as its monitor logs it, record by record
// (a prompt without its newline shows at once, where `logs -f` waits for the line), and a copy of
// the descriptor its monitor holds that is the service's input (native/launcher.c's `ok` line
// names it: a `tty` service's terminal master, a `stdin_open` service's pipe).
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseLogRecord, type LogRecord } from './logs.js';
import { PinnedProcess, pidfdGetfd } from '../sys/pidfd.js';

/** The monitor of a service as its record keeps it. */
export interface MonitorRef {
  readonly pid: number;
  readonly startTime: number;
  /** Its descriptor that is the service's input; absent for a service without one (nor for one started before stack recorded it). */
  readonly input?: number;
}

/**
 * A descriptor of this process for the service's input: a copy of its monitor's (pidfd_getfd),
 * writes to which the service reads. Undefined when the service has no input or its monitor is
 * gone (the service with it).
 */
export function serviceInput(monitor: MonitorRef): number | undefined {
  if (monitor.input === undefined) return undefined;
  const pinned = PinnedProcess.open(monitor.pid, monitor.startTime);
  if (pinned === undefined || pinned.descriptor === undefined) return undefined;
  try {
    return pidfdGetfd(pinned.descriptor, monitor.input, `monitor pid ${monitor.pid}`);
  } finally {
    pinned.close();
  }
}

/** Where a follow of one log file stands. */
interface Cursor {
  fd: number | undefined;
  ino: number | undefined;
  offset: number;
  /** Bytes after the last newline read: a record still being written. */
  rest: Buffer;
}

/**
 * Calls `onRecord` for each record the service's log gets from now on, as the monitor writes it,
 * until `signal` aborts (then once more for what is left). Woken by the log folder's changes
 * (inotify: the appends and a rotation's renames), with a look every second besides; across a
 * rotation it ends the old file before it starts on the new one.
 */
export async function followLogRecords(path: string, onRecord: (record: LogRecord) => void, signal: AbortSignal): Promise<void> {
  const cursor: Cursor = { fd: undefined, ino: undefined, offset: 0, rest: Buffer.alloc(0) };
  const open = (atEnd: boolean): void => {
    try {
      cursor.fd = openSync(path, 'r');
      const st = fstatSync(cursor.fd);
      Object.assign(cursor, { ino: st.ino, offset: atEnd ? st.size : 0, rest: Buffer.alloc(0) });
    } catch {
      cursor.fd = undefined;
    }
  };
  const read = (): void => {
    if (cursor.fd === undefined) return;
    const chunk = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSync(cursor.fd, chunk, 0, chunk.length, cursor.offset);
      if (n <= 0) break;
      cursor.offset += n;
      const all = Buffer.concat([cursor.rest, chunk.subarray(0, n)]);
      const end = all.lastIndexOf(0x0a);
      cursor.rest = Buffer.from(end < 0 ? all : all.subarray(end + 1));
      if (end < 0) continue;
      for (let start = 0; start < end; ) {
        const nl = all.indexOf(0x0a, start);
        const record = parseLogRecord(all.subarray(start, nl));
        if (record) onRecord(record);
        start = nl + 1;
      }
    }
  };
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const name = basename(path);
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || String(file).startsWith(name)) wake?.();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // the looks every second remain
  }
  open(true);
  try {
    for (;;) {
      const last = signal.aborted;
      read();
      let now: number | undefined;
      try {
        now = statSync(path).ino;
      } catch {
        now = undefined;
      }
      if (now !== cursor.ino) {
        // Rotated (or not there yet): the rest of the old file, then the new one from its start.
        read();
        if (cursor.fd !== undefined) closeSync(cursor.fd);
        cursor.fd = undefined;
        if (now !== undefined) {
          open(false);
          read();
        }
      }
      if (last) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, 1000);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
  } finally {
    watcher?.close();
    if (cursor.fd !== undefined) closeSync(cursor.fd);
  }
}

/**
 * Parses docker's --detach-keys: comma-separated keys, each a character (its first byte) or
 * `ctrl-X` (X a letter, or one of @ [ \\ ] ^ _). Undefined when the text is not such a list.
 */
export function parseDetachKeys(text: string): Buffer | undefined {
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    if ([...key].length === 1) bytes.push(Buffer.from(key)[0]!);
    else {
      const m = /^ctrl-([a-zA-Z@[\\\]^_])$/.exec(key);
      if (m === null) return undefined;
      bytes.push(m[1]!.toUpperCase().charCodeAt(0) & 0x1f);
    }
  }
  return bytes.length > 0 ? Buffer.from(bytes) : undefined;
}

/**
 * Watches typed bytes for the detach sequence: returns what to pass on now, and whether the
 * sequence is complete (what matched it is held back, and dropped once it completes). After a
 * partial match that fails, the bytes held but the first are matched again with the new one, so
 * a sequence whose first key repeats (a,a,b typed aaab) is found.
 */
export class DetachMatcher {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) if (this.step(byte, out)) return { pass: Buffer.from(out), detach: true };
    return { pass: Buffer.from(out), detach: false };
  }

  /** One byte: true when it completes the sequence; what is not (or no longer) held goes to `out`. */
  private step(byte: number, out: number[]): boolean {
    if (byte === this.keys[this.held]) {
      this.held++;
      return this.held === this.keys.length;
    }
    if (this.held === 0) {
      out.push(byte);
      return false;
    }
    const again = [...this.keys.subarray(1, this.held), byte];
    out.push(this.keys[0]!);
    this.held = 0;
    return again.some((b) => this.step(b, out));
  }
}

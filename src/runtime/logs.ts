// Reading a service's log back (for `stack logs` and `logs -t`): the CRI-format files the
// monitor writes (native/launcher/log.h), rotated ones first, with pieces of a line (P)
// joined to the record that ends it (F), per stream.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** One line of output as the service wrote it. */
export interface LogLine {
  /** RFC 3339 time (nanoseconds) the first byte of the line was read. */
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  /** False for a last line the service left without a newline. */
  readonly complete: boolean;
}

/** One record of a log file: a line (F) or a piece of one (P). */
export interface LogRecord {
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly final: boolean;
  /** The content as written: a piece may end inside a UTF-8 character that the next one ends. */
  readonly bytes: Buffer;
  /** The content decoded on its own (exact only for F records that are whole lines). */
  readonly text: string;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;

/** Parses one record line (no newline); undefined for a malformed one (a torn write at a crash). */
export function parseLogRecord(line: Buffer | string): LogRecord | undefined {
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const afterTime = buf.indexOf(SPACE);
  const afterStream = afterTime > 0 ? buf.indexOf(SPACE, afterTime + 1) : -1;
  if (afterStream < 0 || buf[afterStream + 2] !== SPACE) return undefined;
  const stream = buf.toString('latin1', afterTime + 1, afterStream);
  const tag = String.fromCharCode(buf[afterStream + 1] ?? 0);
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 'P' && tag !== 'F')) return undefined;
  const bytes = buf.subarray(afterStream + 3);
  return { time: buf.toString('latin1', 0, afterTime), stream, final: tag === 'F', bytes, text: bytes.toString('utf8') };
}

/** Parses the records of one file's content. */
export function parseLogRecords(data: Buffer | string): LogRecord[] {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const records: LogRecord[] = [];
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(NEWLINE, start);
    const end = nl < 0 ? buf.length : nl;
    const record = parseLogRecord(buf.subarray(start, end));
    if (record) records.push(record);
    start = end + 1;
  }
  return records;
}

/** Joins P pieces to the F record that ends their line, per stream, as records arrive; decodes whole lines. */
export class LineJoiner {
  private readonly pending = new Map<'stdout' | 'stderr', { time: string; pieces: Buffer[] }>();

  /** The line this record completes, if it does. */
  push(r: LogRecord): LogLine | undefined {
    const before = this.pending.get(r.stream);
    const time = before?.time ?? r.time;
    const pieces = [...(before?.pieces ?? []), r.bytes];
    if (!r.final) {
      this.pending.set(r.stream, { time, pieces });
      return undefined;
    }
    this.pending.delete(r.stream);
    return { time, stream: r.stream, text: Buffer.concat(pieces).toString('utf8'), complete: true };
  }

  /** The pieces still waiting for their end, as incomplete lines. */
  flush(): LogLine[] {
    const lines = [...this.pending].map(([stream, p]) => ({ time: p.time, stream, text: Buffer.concat(p.pieces).toString('utf8'), complete: false }));
    this.pending.clear();
    return lines;
  }
}

/** Lines from records, in order: P pieces joined per stream until their F. */
export function joinRecords(records: readonly LogRecord[]): LogLine[] {
  const joiner = new LineJoiner();
  const lines = records.flatMap((r) => joiner.push(r) ?? []);
  return [...lines, ...joiner.flush()];
}

/** The log files of `logPath`, oldest first: `<log>.N` ... `<log>.1`, `<log>`. */
export function logFiles(logPath: string): string[] {
  const base = basename(logPath);
  let names: string[];
  try {
    names = readdirSync(dirname(logPath));
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? /^\d+$/.exec(n.slice(base.length + 1))?.[0] : undefined))
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a)
    .map((n) => join(dirname(logPath), `${base}.${n}`));
  return names.includes(base) ? [...rotated, logPath] : rotated;
}

/** Every line the log files still hold, oldest first; `tail` keeps the last n. */
export function readLogLines(logPath: string, options: { tail?: number } = {}): LogLine[] {
  const records = logFiles(logPath).flatMap((file) => {
    try {
      return parseLogRecords(readFileSync(file));
    } catch {
      return []; // rotated away while reading
    }
  });
  const lines = joinRecords(records);
  return options.tail === undefined ? lines : lines.slice(Math.max(0, lines.length - options.tail));
}


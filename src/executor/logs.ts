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

interface LogRecord {
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly final: boolean;
  readonly text: string;
}

/** Parses the records of one file; a malformed line (a torn write at a crash) is skipped. */
export function parseLogRecords(text: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(line);
    if (m) records.push({ time: m[1] as string, stream: m[2] as 'stdout' | 'stderr', final: m[3] === 'F', text: m[4] as string });
  }
  return records;
}

/** Lines from records, in order: P pieces joined per stream until their F. */
export function joinRecords(records: readonly LogRecord[]): LogLine[] {
  const lines: LogLine[] = [];
  const pending = new Map<string, { time: string; text: string }>();
  for (const r of records) {
    const before = pending.get(r.stream);
    const text = (before?.text ?? '') + r.text;
    const time = before?.time ?? r.time;
    if (r.final) {
      pending.delete(r.stream);
      lines.push({ time, stream: r.stream, text, complete: true });
    } else pending.set(r.stream, { time, text });
  }
  for (const [stream, p] of pending) lines.push({ time: p.time, stream: stream as 'stdout' | 'stderr', text: p.text, complete: false });
  return lines;
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
      return parseLogRecords(readFileSync(file, 'utf8'));
    } catch {
      return []; // rotated away while reading
    }
  });
  const lines = joinRecords(records);
  return options.tail === undefined ? lines : lines.slice(Math.max(0, lines.length - options.tail));
}

/** A line as `stack logs` prints it (`-t` puts the time first). */
export function formatLogLine(line: LogLine, options: { timestamps?: boolean } = {}): string {
  return options.timestamps ? `${line.time} ${line.text}` : line.text;
}

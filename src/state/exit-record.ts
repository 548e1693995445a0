// The exit record the launcher's monitor writes (atomically) when a service's main process
// is gone: how it ended and whether the kernel OOM-killed something in its cgroup.
import { readFileSync } from 'node:fs';

/** Contents of `<service>.exit` (native/launcher/monitor.h writes it). */
export interface ExitRecord {
  readonly pid: number;
  readonly startTime: number;
  /** Exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** `SIGKILL` etc. when a signal ended it, else null. */
  readonly signal: string | null;
  /** The oom_kill counter of the service's memory cgroup rose while it ran. */
  readonly oomKilled: boolean;
  readonly oomKills: number;
  /** RFC 3339 time the monitor saw the exit. */
  readonly exitedAt: string;
}

/** The record at `path`, or undefined while the service runs (no file yet). */
export function readExitRecord(path: string): ExitRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as ExitRecord;
}

/** One phrase for humans: `exited with code 3`, `killed by SIGKILL (out of memory)`. */
export function describeExit(record: ExitRecord): string {
  const how = record.signal !== null ? `killed by ${record.signal}` : `exited with code ${record.exitCode}`;
  return record.oomKilled ? `${how} (out of memory)` : how;
}

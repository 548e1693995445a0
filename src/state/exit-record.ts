// The exit record the launcher's monitor writes (atomically) when a service's main process
// is gone: how it ended and whether the kernel OOM-killed something in its cgroup.
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isSameProcess } from '../sys/proc.js';

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

/** The status code Docker reports for an exit: its code, or 128 + the number of the signal that ended it. */
export function statusCode(exit: Pick<ExitRecord, 'exitCode' | 'signal'>): number {
  if (exit.exitCode !== null) return exit.exitCode;
  const n = exit.signal ? (osConstants.signals as Record<string, number | undefined>)[exit.signal] : undefined;
  return 128 + (n ?? 0);
}

/**
 * The exit record of `process` at `path`, waited for while `monitor` (the launcher that writes it
 * as it reaps the process) lives; undefined when the process left none.
 */
export async function awaitExitRecord(path: string, process: ProcessRef, monitor: ProcessRef | undefined): Promise<ExitRecord | undefined> {
  for (;;) {
    const monitorLives = monitor !== undefined && isSameProcess(monitor.pid, monitor.startTime);
    const record = readExitRecord(path);
    if (record !== undefined && record.pid === process.pid && record.startTime === process.startTime) return record;
    if (!monitorLives) return undefined; // read after the monitor was seen gone: it wrote all it would
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A process named for the life of the boot, as an exit record names it. */
type ProcessRef = Pick<ExitRecord, 'pid' | 'startTime'>;

/** One phrase for humans: `exited with code 3`, `killed by SIGKILL (out of memory)`. */
export function describeExit(record: ExitRecord): string {
  const how = record.signal !== null ? `killed by ${record.signal}` : `exited with code ${record.exitCode}`;
  return record.oomKilled ? `${how} (out of memory)` : how;
}

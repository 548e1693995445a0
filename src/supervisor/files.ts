// The small JSON files the supervisor and its clients share: its pid file, each service's
// health and restart count, and the mark `stop`/`down` leaves on a process they stop. Each is
// written atomically; a missing or unreadable one reads as undefined (never believed half).
import { readJsonSync, writeJsonAtomic } from '../state/atomic.js';
import type { ExitRecord } from '../state/exit-record.js';
import type { HealthState } from './health.js';

/** A process named for the life of the boot: pid and start time. */
export interface ProcessId {
  readonly pid: number;
  readonly startTime: number;
}

/** The supervisor's pid file. */
export interface PidRecord extends ProcessId {
  readonly bootId: string;
  /** RFC 3339 time it started. */
  readonly since: string;
}

/** A service's restarts since `up` last started it: the current process and how it came. */
export interface RestartRecord extends ProcessId {
  /** Restarts made by the supervisor for this run of the service. */
  readonly restarts: number;
  /** Restarts in a row of processes that ran less than BACKOFF_RESET_MS (sets the delay). */
  readonly consecutive: number;
  /**
   * The exit record of the process the last restart replaced, as its monitor wrote it: the
   * restarted launcher removes that file as it starts, and `stack events` takes the exit's code
   * from here when it read the facts only after that (a watcher slower than the 100 ms before
   * a first restart).
   */
  readonly lastExit?: ExitRecord;
}

// Read synchronously (a small file; a round trip through libuv's threads costs more): `up`'s
// look for a running supervisor then settles at once, and the one it starts is spawned before
// the executor's kernel side has loaded (apply.ts).
async function read<T>(path: string, valid: (v: Record<string, unknown>) => boolean): Promise<T | undefined> {
  try {
    const value = readJsonSync(path) as Record<string, unknown> | undefined;
    return value && typeof value === 'object' && valid(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

const isProcess = (v: Record<string, unknown>): boolean => typeof v.pid === 'number' && typeof v.startTime === 'number';

/** Reads a pid file. */
export const readPidRecord = (path: string): Promise<PidRecord | undefined> => read(path, (v) => isProcess(v) && typeof v.bootId === 'string');
/** Reads a health file. */
export const readHealth = (path: string): Promise<HealthState | undefined> =>
  read(path, (v) => isProcess(v) && typeof v.status === 'string' && Array.isArray(v.log));
/** Reads a restart record. */
export const readRestarts = (path: string): Promise<RestartRecord | undefined> => read(path, (v) => isProcess(v) && typeof v.restarts === 'number');
/** Reads the ports a supervisor remembers (port-set.ts): a port key → the port it had; none when unreadable. */
export async function readRememberedPorts(path: string): Promise<Record<string, number>> {
  return (await read<Record<string, number>>(path, (v) => Object.values(v).every((n) => typeof n === 'number'))) ?? {};
}
/** Reads a stop mark. */
export const readStopMark = (path: string): Promise<ProcessId | undefined> => read(path, isProcess);

/**
 * Writes any of them: runtime files, under the run root and gone with the boot, so not durable
 * (no fsync, written synchronously: state/atomic.ts), as the service records are. Durable, each
 * write was a file and a folder fsync through the supervisor's libuv threads, of which the exit
 * watch holds one: the first tick to follow the 20 services an `up` had just started took
 * 24-124 ms (instrumented reconcile, 3 runs), most of it writing each one's restart count
 * (which that tick no longer writes for a service that has none: supervisor.ts follow()).
 */
export function writeFile(path: string, value: object): Promise<void> {
  return writeJsonAtomic(path, value, { durable: false });
}

/** Whether `a` and `b` name the same process. */
export function sameProcess(a: ProcessId | null | undefined, b: ProcessId | null | undefined): boolean {
  return !!a && !!b && a.pid === b.pid && a.startTime === b.startTime;
}

// A process's identity from /proc: its start time, which with the pid names one process for the
// life of the boot (a pid alone is reused), and the boot's id, which records carry so nothing
// from before a reboot is believed. Leaves of the layering: state, runtime, executor, supervisor
// and cli all ask these questions (src/runtime/proc.ts re-exports them beside its signal masks).
import { readFileSync } from 'node:fs';

/** The text of a /proc file, or undefined when it cannot be read (the process is gone). */
export function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of a /proc/PID/stat line (start time in clock ticks since boot). */
export function parseStartTime(stat: string): number | undefined {
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const value = afterComm[19];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The start time of `pid`, or undefined when no such process exists. */
export function readStartTime(pid: number): number | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : parseStartTime(stat);
}

/** Whether `pid` is still the process that started at `startTime` and has not exited (zombies count as gone). */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === undefined || parseStartTime(stat) !== startTime) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/**
 * This boot's id: runtime records carry it so nothing from before a reboot is believed. Read
 * once a process (a boot outlives it): an `up -d` of 20 read it 23 times.
 */
export function readBootId(): string {
  if (bootId !== undefined) return bootId;
  const id = (readProcFile('/proc/sys/kernel/random/boot_id') ?? '').trim();
  if (id !== '') bootId = id;
  return id;
}

let bootId: string | undefined;

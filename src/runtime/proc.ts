// What /proc says about a process: its start time (which, with the pid, names one process
// for the life of the boot: a pid alone is reused), its pid inside its own namespace, and its
// signal masks (whether it can act on a signal at all). Parsers are pure; readers return
// undefined for a process that is gone.
import { readProcFile as readProc } from '../sys/proc.js';

/** The parts of /proc/PID/status that stop decisions rest on. */
export interface ProcStatus {
  /** State letter: R, S, D, Z (zombie), T, ... */
  readonly state: string;
  /** Where it sleeps in the kernel (/proc/PID/wchan), `0` or empty while it runs. */
  readonly wchan: string;
  /** The pid in each pid namespace, outermost first; the last one is what the process sees. */
  readonly nsPids: readonly number[];
  /** Signals with a handler installed (SigCgt), bit n-1 for signal n. */
  readonly caught: bigint;
  /** Signals set to SIG_IGN (SigIgn). */
  readonly ignored: bigint;
  /** Signals blocked (SigBlk): queued, never dropped, for sigwait/signalfd (tini, catatonit). */
  readonly blocked: bigint;
  /**
   * Sleeping in sigwait/sigtimedwait (wchan do_sigtimedwait): the kernel then shows the waited
   * signals as unblocked in SigBlk, yet queues them for the process (tini, dumb-init).
   */
  readonly inSigwait: boolean;
}

// Process identity (start time, boot id) lives in src/sys/proc.ts, below every layer that asks.
export { isSameProcess, parseStartTime, readBootId, readStartTime } from '../sys/proc.js';

/**
 * The value of field `key` in /proc/PID/status text (`Key:\tvalue` lines), trimmed; undefined
 * when the text has no such line. Looked up, not split into every line: a stop reads a young
 * service's status once or twice before its signal, and the ~55 lines split into a map cost
 * ~24 µs a read, not yet compiled, against ~6 for the five fields looked up.
 */
function statusField(text: string, key: string): string | undefined {
  const head = `${key}:`;
  let from: number;
  if (text.startsWith(head)) from = head.length;
  else {
    const line = text.indexOf(`\n${head}`); // at a line's start: `SigCgt:` is not the tail of another key
    if (line < 0) return undefined;
    from = line + 1 + head.length;
  }
  const end = text.indexOf('\n', from);
  return text.slice(from, end < 0 ? undefined : end).trim();
}

/** The fields of /proc/PID/status (and /proc/PID/wchan, where the process sleeps) that ProcStatus holds. */
export function parseStatus(text: string, wchan = ''): ProcStatus {
  const mask = (key: string): bigint => BigInt(`0x${statusField(text, key) ?? '0'}`);
  return withWchan(
    {
      state: (statusField(text, 'State') ?? '?').charAt(0),
      wchan: '',
      nsPids: (statusField(text, 'NSpid') ?? '').split(/\s+/).filter(Boolean).map(Number),
      caught: mask('SigCgt'),
      ignored: mask('SigIgn'),
      blocked: mask('SigBlk'),
      inSigwait: false,
    },
    wchan,
  );
}

/** `status` with where the process sleeps (/proc/PID/wchan's text). */
export function withWchan(status: ProcStatus, wchan: string): ProcStatus {
  return { ...status, wchan: wchan.trim(), inSigwait: wchan.startsWith('do_sigtimedwait') };
}

/**
 * /proc/PID/status of `pid`, or undefined when no such process exists; with /proc/PID/wchan
 * unless `wchan` is 'skip' (its fields are then empty: readWchan adds them).
 */
export function readStatus(pid: number, wchan: 'read' | 'skip' = 'read'): ProcStatus | undefined {
  const text = readProc(`/proc/${pid}/status`);
  return text === undefined ? undefined : parseStatus(text, wchan === 'read' ? (readProc(`/proc/${pid}/wchan`) ?? '') : '');
}

/** Where `pid` sleeps (/proc/PID/wchan), '' when it runs or is gone. */
export function readWchan(pid: number): string {
  return readProc(`/proc/${pid}/wchan`) ?? '';
}

/** Whether a process with these masks has a handler for signal number `signal`. */
export function catchesSignal(status: ProcStatus, signal: number): boolean {
  return (status.caught & (1n << BigInt(signal - 1))) !== 0n;
}

/** Whether a process with these masks blocks signal number `signal` (it stays pending for it). */
export function blocksSignal(status: ProcStatus, signal: number): boolean {
  return (status.blocked & (1n << BigInt(signal - 1))) !== 0n;
}

/** The read and write system calls the process (all its threads) has made, from /proc/PID/io; undefined when unreadable. */
export function readIoCalls(pid: number): number | undefined {
  const text = readProc(`/proc/${pid}/io`);
  if (text === undefined) return undefined;
  const r = /^syscr:\s+(\d+)$/m.exec(text);
  const w = /^syscw:\s+(\d+)$/m.exec(text);
  return r && w ? Number(r[1]) + Number(w[1]) : undefined;
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;

/** How long ago (ms) a process with this start time (clock ticks since boot) started; undefined when unknown. */
export function processAgeMs(startTime: number): number | undefined {
  const uptime = Number(readProc('/proc/uptime')?.split(' ')[0]);
  return Number.isFinite(uptime) ? uptime * 1000 - (startTime * 1000) / USER_HZ : undefined;
}

/** The CPU time (utime + stime, clock ticks) the process has used; undefined when it is gone. */
export function readCpuTicks(pid: number): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

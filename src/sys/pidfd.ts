// Process descriptors (pidfd_open(2), pidfd_send_signal(2), Linux 5.3+): a signal sent through
// a pidfd reaches the process the descriptor was opened on, or nobody, never a later process
// that got its pid. A saved pid is trusted only as far as this: open a pidfd on it, check the
// start time in /proc (pid + start time name one process for the life of the boot), then ask
// the descriptor whether that process still runs. If it does, it ran throughout, so the /proc
// read was of it; every signal after that goes through the descriptor. The descriptor turns
// readable when the process exits (poll), which is how its end is waited for.
import { setTimeout as sleep } from 'node:timers/promises';
import { close, kernelErrno, pollOne, POLLIN, syscall } from './libc.js';
import { isSameProcess } from './proc.js';

/** Syscall numbers (the same in x86-64's table and the generic one arm64 uses). */
type Numbers = { readonly pidfdOpen: number; readonly pidfdSendSignal: number; readonly pidfdGetfd: number };

const SYSCALLS: Readonly<Record<string, Numbers>> = {
  x64: { pidfdOpen: 434, pidfdSendSignal: 424, pidfdGetfd: 438 },
  arm64: { pidfdOpen: 434, pidfdSendSignal: 424, pidfdGetfd: 438 },
};

function numbers(): Numbers {
  const n = SYSCALLS[process.arch];
  if (!n) throw new Error(`pidfd system call numbers are not known for ${process.arch}`);
  return n;
}

/** pidfd_open(2) of `pid`; undefined when no such process exists (ESRCH). */
export function pidfdOpen(pid: number): number | undefined {
  try {
    return syscall(numbers().pidfdOpen, [pid, 0], () => `pidfd_open(${pid})`);
  } catch (e) {
    if (kernelErrno(e) === 'ESRCH') return undefined;
    throw e;
  }
}

/** pidfd_send_signal(2); false when the process has exited (ESRCH). Signal 0 only asks. */
export function pidfdSendSignal(fd: number, signal: number, what: string): boolean {
  try {
    syscall(numbers().pidfdSendSignal, [fd, signal, 0, 0], () => `pidfd_send_signal(${what}, ${signal})`);
    return true;
  } catch (e) {
    if (kernelErrno(e) === 'ESRCH') return false;
    throw e;
  }
}

/**
 * pidfd_getfd(2) (Linux 5.6+): a descriptor of this process for the open file that is
 * descriptor `targetFd` of the process `fd` pins (the caller may ptrace it: root, here).
 */
export function pidfdGetfd(fd: number, targetFd: number, what: string): number {
  return syscall(numbers().pidfdGetfd, [fd, targetFd, 0], () => `pidfd_getfd(${what}, ${targetFd})`);
}

/** One process held by a pidfd, checked to be the one a record names (pid + start time). */
export class PinnedProcess {
  private fd: number | undefined;

  private constructor(
    readonly pid: number,
    readonly startTime: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * The process `pid` if it is the one that started at `startTime` and has not exited;
   * undefined otherwise (gone, a zombie, or another process that got its pid).
   */
  static open(pid: number, startTime: number): PinnedProcess | undefined {
    const fd = pidfdOpen(pid);
    if (fd === undefined) return undefined;
    const pinned = new PinnedProcess(pid, startTime, fd);
    // Checked in this order: alive now through the descriptor means /proc showed this process.
    if (isSameProcess(pid, startTime) && !pinned.exited()) return pinned;
    pinned.close();
    return undefined;
  }

  /** The pidfd (undefined once closed): readable when the process exits, for a poll of many (exit-watch.ts). */
  get descriptor(): number | undefined {
    return this.fd;
  }

  /** Whether the process has exited (a zombie counts as exited). */
  exited(): boolean {
    if (this.fd === undefined) return true;
    return (pollOne(this.fd, POLLIN, 0, `pidfd of pid ${this.pid}`) & POLLIN) !== 0;
  }

  /** Sends `signal`; false when the process has exited meanwhile. */
  signal(signal: number): boolean {
    if (this.fd === undefined) return false;
    return pidfdSendSignal(this.fd, signal, `pid ${this.pid}`);
  }

  /** Waits up to `ms` for the process to exit (polling with a growing interval); returns whether it did. */
  async waitExit(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (let interval = 1; ; interval = Math.min(interval * 2, 50)) {
      if (this.exited()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(interval, left));
    }
  }

  /** Lets go of the descriptor (idempotent). */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    close(fd);
  }
}

/**
 * Sends `signal` to the process `pid` that started at `startTime`, through a pidfd; false when
 * that process no longer runs (nothing was signalled).
 */
export function signalProcess(pid: number, startTime: number, signal: number): boolean {
  const pinned = PinnedProcess.open(pid, startTime);
  if (!pinned) return false;
  try {
    return pinned.signal(signal);
  } finally {
    pinned.close();
  }
}

/**
 * SIGKILLs the process `pid` that started at `startTime` and waits up to `ms` for it to exit;
 * returns whether it is gone (true too when it was gone already).
 */
export async function killProcessAndWait(pid: number, startTime: number, ms = 5000): Promise<boolean> {
  const pinned = PinnedProcess.open(pid, startTime);
  if (!pinned) return true;
  try {
    pinned.signal(9);
    return await pinned.waitExit(ms);
  } finally {
    pinned.close();
  }
}

// Told when processes end, without looking at them over and over (issue 11: "the supervisor's
// CPU is near zero while nothing changes, no polling loop whose cost grows with services"). The
// supervisor used to read /proc/PID/stat of every service on each 100 ms tick: at 200 services
// 1500 opens a second, 6.6 % of a core. Here each watched process is pinned by a pidfd
// (PinnedProcess: checked to be the one its record names), which turns readable when its
// process exits, and the process's ReadyWatcher (ready-watch.ts: one poll(2) over all of them,
// and over every other descriptor the process watches, on one of libuv's threads) says when.
// The thread is held while something is watched; close() stops this watcher's watches.
import { close, POLLIN } from './libc.js';
import { PinnedProcess, pidfdOpen } from './pidfd.js';
import { readyWatcher, type ReadyWatcher } from './ready-watch.js';

export class ExitWatcher {
  /** The processes watched, each with what stops its watch: closed when let go of, when they exit, or by close(). */
  private readonly watches = new Map<PinnedProcess, (closeFd?: () => void) => Promise<void>>();
  private closed = false;

  private constructor(private readonly ready: ReadyWatcher) {}

  /**
   * A watcher on this process's ReadyWatcher (one poll thread for every watch of the process),
   * or undefined where pidfds or koffi are not there (the caller looks at /proc then).
   */
  static open(): ExitWatcher | undefined {
    try {
      const self = pidfdOpen(process.pid);
      if (self === undefined) return undefined;
      close(self);
      return new ExitWatcher(readyWatcher());
    } catch {
      return undefined;
    }
  }

  /**
   * Calls `onExit` once the process `pid` that started at `startTime` has exited (later, never
   * from this call), or `onBroken` when the watches stopped working before (working() is false
   * from then on). Returns the function that stops watching it, or undefined when that process
   * does not run now (gone, a zombie, or another process has the pid).
   */
  watch(pid: number, startTime: number, onExit: () => void, onBroken?: () => void): (() => void) | undefined {
    if (this.closed) return undefined;
    const pinned = PinnedProcess.open(pid, startTime);
    const fd = pinned?.descriptor;
    if (pinned === undefined || fd === undefined) return undefined;
    const watch = this.ready.watch(fd, POLLIN, () => {
      if (!this.watches.delete(pinned)) return;
      pinned.close();
      if (this.ready.working()) onExit();
      else onBroken?.(); // told POLLERR: the caller looks at /proc from now on (working())
    });
    this.watches.set(pinned, watch);
    return () => this.stop(pinned);
  }

  /** Stops watching `pinned` and closes it once no poll holds its pidfd. */
  private stop(pinned: PinnedProcess): void {
    const watch = this.watches.get(pinned);
    if (watch === undefined) return;
    this.watches.delete(pinned);
    void watch(() => pinned.close());
  }

  /** Whether exits are still reported: false once polls kept failing (the caller looks at /proc then). */
  working(): boolean {
    return !this.closed && this.ready.working();
  }

  /** Stops watching everything (idempotent): with nothing else watched, the poll's thread is let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pinned of [...this.watches.keys()]) this.stop(pinned);
  }
}

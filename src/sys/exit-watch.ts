// Told when processes end, without looking at them over and over (issue 11: "the supervisor's
// CPU is near zero while nothing changes, no polling loop whose cost grows with services"). The
// supervisor used to read /proc/PID/stat of every service on each 100 ms tick: at 200 services
// 1500 opens a second, 6.6 % of a core. Here each watched process is pinned by a pidfd
// (PinnedProcess: checked to be the one its record names), which turns readable when its
// process exits, and a ReadyWatcher (ready-watch.ts: one poll(2) over all of them on one of
// libuv's threads) says when. The thread is held while something is watched; close() lets it
// go, and so does the process's exit.
import { close, POLLIN } from './libc.js';
import { PinnedProcess, pidfdOpen } from './pidfd.js';
import { ReadyWatcher } from './ready-watch.js';

export class ExitWatcher {
  /** The processes watched: closed when let go of, when they exit, or by close(). */
  private readonly pinned = new Set<PinnedProcess>();
  private closed = false;

  private constructor(private readonly ready: ReadyWatcher) {}

  /** A watcher, or undefined where pidfds or koffi are not there (the caller looks at /proc then). */
  static open(): ExitWatcher | undefined {
    try {
      const self = pidfdOpen(process.pid);
      if (self === undefined) return undefined;
      close(self);
    } catch {
      return undefined;
    }
    const ready = ReadyWatcher.open();
    return ready === undefined ? undefined : new ExitWatcher(ready);
  }

  /**
   * Calls `onExit` once the process `pid` that started at `startTime` has exited (later, never
   * from this call). Returns the function that stops watching it, or undefined when that process
   * does not run now (gone, a zombie, or another process has the pid).
   */
  watch(pid: number, startTime: number, onExit: () => void): (() => void) | undefined {
    if (this.closed) return undefined;
    const pinned = PinnedProcess.open(pid, startTime);
    const fd = pinned?.descriptor;
    if (pinned === undefined || fd === undefined) return undefined;
    this.pinned.add(pinned);
    const stop = this.ready.watch(fd, POLLIN, () => {
      this.pinned.delete(pinned);
      pinned.close();
      onExit();
    });
    return () => {
      if (!this.pinned.delete(pinned)) return;
      stop(() => pinned.close());
    };
  }

  /** Whether exits are still reported: false once polls kept failing (the caller looks at /proc then). */
  working(): boolean {
    return !this.closed && this.ready.working();
  }

  /** Stops watching everything and lets go of the poll's thread (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pinned = [...this.pinned];
    this.pinned.clear();
    for (const p of pinned) this.ready.whenFree(() => p.close());
    this.ready.close();
  }
}

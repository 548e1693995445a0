// Told when processes end, without looking at them over and over (issue 11: "the supervisor's
// CPU is near zero while nothing changes, no polling loop whose cost grows with services"). The
// supervisor used to read /proc/PID/stat of every service on each 100 ms tick: at 200 services
// 1500 opens a second, 6.6 % of a core. Here each watched process is pinned by a pidfd
// (PinnedProcess: checked to be the one its record names) and one poll(2) over all of them waits
// on one of libuv's threads; a pidfd turns readable when its process exits, and an eventfd wakes
// the poll when the set of watched processes changes. The thread is held while something is
// watched; close() lets it go, and so does the process's exit: Node's exit waits for libuv's
// threads (a pending poll would hold an exiting supervisor, its loop dead, until a service ended).
import { close, eventFd, eventFdDrain, eventFdSignal, pollReadableOffThread } from './libc.js';
import { PinnedProcess, pidfdOpen } from './pidfd.js';

/** Failed polls in a row after which exits are no longer believed to be reported. */
const FAILURES_TOLERATED = 20;

interface Watched {
  readonly process: PinnedProcess;
  readonly onExit: () => void;
}

export class ExitWatcher {
  /** Watched processes by pidfd. */
  private readonly watched = new Map<number, Watched>();
  /** Processes let go of while a poll had their pidfds: closed once it returns. */
  private readonly dropped: PinnedProcess[] = [];
  private polling = false;
  private closed = false;
  /** Polls in a row that failed; past FAILURES_TOLERATED the watcher gives up (working() false). */
  private failures = 0;

  private constructor(private readonly wake: number) {
    process.once('exit', () => this.close());
  }

  /** A watcher, or undefined where pidfds or koffi are not there (the caller looks at /proc then). */
  static open(): ExitWatcher | undefined {
    try {
      const self = pidfdOpen(process.pid);
      if (self === undefined) return undefined;
      close(self);
      return new ExitWatcher(eventFd('exit watcher'));
    } catch {
      return undefined;
    }
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
    this.watched.set(fd, { process: pinned, onExit });
    this.rearm();
    return () => {
      if (!this.watched.delete(fd)) return;
      this.drop(pinned);
      this.rearm();
    };
  }

  /** Whether exits are still reported: false once polls kept failing (the caller looks at /proc then). */
  working(): boolean {
    return !this.closed && this.failures <= FAILURES_TOLERATED;
  }

  /** Stops watching everything and lets go of the poll's thread (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { process: pinned } of this.watched.values()) this.drop(pinned);
    this.watched.clear();
    if (this.polling) eventFdSignal(this.wake);
    else this.release();
  }

  private drop(pinned: PinnedProcess): void {
    if (this.polling) this.dropped.push(pinned);
    else pinned.close();
  }

  private release(): void {
    for (const pinned of this.dropped.splice(0)) pinned.close();
    close(this.wake);
  }

  /** Makes the poll cover the current set: a poll under way is woken and made anew. */
  private rearm(): void {
    if (this.polling) {
      eventFdSignal(this.wake);
      return;
    }
    if (this.closed || this.watched.size === 0) return;
    this.polling = true;
    pollReadableOffThread([this.wake, ...this.watched.keys()], (readable) => {
      this.polling = false;
      for (const pinned of this.dropped.splice(0)) pinned.close();
      if (this.closed) {
        this.release();
        return;
      }
      if (readable === undefined) {
        // A signal this thread took (EINTR), most likely: polled again after a pause, unless it keeps failing.
        if (++this.failures <= FAILURES_TOLERATED) setTimeout(() => this.rearm(), 10).unref();
        return;
      }
      this.failures = 0;
      const ended: Watched[] = [];
      for (const fd of readable) {
        if (fd === this.wake) {
          eventFdDrain(this.wake);
          continue;
        }
        const watched = this.watched.get(fd);
        if (watched === undefined) continue;
        this.watched.delete(fd);
        watched.process.close();
        ended.push(watched);
      }
      this.rearm();
      for (const w of ended) w.onExit();
    });
  }
}

// Told when descriptors turn ready, without libuv's handles (issue 11). One poll(2) over every
// watched descriptor waits on one of libuv's threads (koffi's async call); an eventfd wakes it
// when the set changes. Two users:
//   - exit-watch.ts: pidfds, which turn readable when their process exits (the supervisor);
//   - the launchers' stdio (runtime/launch.ts): a net.Socket a descriptor cost the CLI's thread
//     ~1 ms each at first, node:net and the streams it loads ~2 ms more, in every `up`.
// A watch is one-shot: its callback runs once, after the poll returned, with the poll's revents
// (POLLHUP and POLLERR come whatever was asked), and the watcher forgets the descriptor; the
// owner watches it again for more. A descriptor a poll under way holds is closed only once that
// poll returned (stop(close)): a number closed and given to a new descriptor meanwhile would
// have the old poll's answer taken for the new one's. The thread is held while anything is
// watched; close() lets it go, and so does the process's exit: Node's exit waits for libuv's
// threads (a pending poll would hold an exiting process until a descriptor turned ready).
import { close, eventFd, eventFdDrain, eventFdSignal, pollOffThread, POLLIN } from './libc.js';

/** Failed polls in a row after which readiness is no longer believed to be reported. */
const FAILURES_TOLERATED = 20;

interface Watch {
  readonly events: number;
  readonly onReady: (revents: number) => void;
}

export class ReadyWatcher {
  /** Watched descriptors. */
  private readonly watched = new Map<number, Watch>();
  /** What closes descriptors a poll under way may hold: run once it returns. */
  private readonly closers: (() => void)[] = [];
  private polling = false;
  private closed = false;
  /** Polls in a row that failed; past FAILURES_TOLERATED the watcher gives up (working() false). */
  private failures = 0;

  private constructor(private readonly wake: number) {
    process.once('exit', () => this.close());
  }

  /** A watcher, or undefined where koffi cannot be loaded or eventfd(2) fails. */
  static open(): ReadyWatcher | undefined {
    try {
      return new ReadyWatcher(eventFd('ready watcher'));
    } catch {
      return undefined;
    }
  }

  /**
   * Calls `onReady` once `fd` has one of `events` (poll(2) bits), or POLLHUP or POLLERR: later,
   * never from this call, and not at all once stopped or closed. Returns the function that stops
   * the watch and runs `closeFd` (if given) once no poll holds the descriptor, now or when the
   * poll under way returns (whenFree). Watching a descriptor watched already replaces that watch.
   */
  watch(fd: number, events: number, onReady: (revents: number) => void): (closeFd?: () => void) => Promise<void> {
    if (this.closed) throw new Error('ready watcher: closed');
    const mine: Watch = { events, onReady };
    this.watched.set(fd, mine);
    this.rearm();
    return (closeFd) => {
      if (this.watched.get(fd) === mine) {
        this.watched.delete(fd);
        this.rearm();
      }
      return closeFd === undefined ? Promise.resolve() : this.whenFree(closeFd);
    };
  }

  /** Whether readiness is still reported: false once polls kept failing or after close(). */
  working(): boolean {
    return !this.closed && this.failures <= FAILURES_TOLERATED;
  }

  /** Runs `closeFd` once no poll holds what it closes: at once when none is under way. Resolves once it ran. */
  whenFree(closeFd: () => void): Promise<void> {
    if (!this.polling) {
      closeFd();
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.closers.push(() => {
        try {
          closeFd();
        } finally {
          resolve();
        }
      }),
    );
  }

  /** Stops every watch and lets go of the poll's thread (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watched.clear();
    if (this.polling) eventFdSignal(this.wake);
    else this.release();
  }

  private release(): void {
    for (const closeFd of this.closers.splice(0)) closeFd();
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
    const polled = [...this.watched].map(([fd, w]): [number, Watch] => [fd, w]);
    pollOffThread([[this.wake, POLLIN], ...polled.map(([fd, w]): [number, number] => [fd, w.events])], (revents) => {
      this.polling = false;
      for (const closeFd of this.closers.splice(0)) closeFd();
      if (this.closed) {
        this.release();
        return;
      }
      if (revents === undefined) {
        // A signal this thread took (EINTR), most likely: polled again after a pause, unless it keeps failing.
        if (++this.failures <= FAILURES_TOLERATED) setTimeout(() => this.rearm(), 10).unref();
        return;
      }
      this.failures = 0;
      if (revents[0] !== 0) eventFdDrain(this.wake);
      const ready: [Watch, number][] = [];
      polled.forEach(([fd, w], i) => {
        const r = revents[i + 1]!;
        // Only the watch this poll was made for: one stopped or replaced meanwhile is not told.
        if (r === 0 || this.watched.get(fd) !== w) return;
        this.watched.delete(fd);
        ready.push([w, r]);
      });
      this.rearm();
      for (const [w, r] of ready) w.onReady(r);
    });
  }
}

let shared: ReadyWatcher | null | undefined;

/** This process's watcher (one poll thread for all), made at the first call; undefined where none can be made. */
export function readyWatcher(): ReadyWatcher | undefined {
  if (shared === undefined || (shared !== null && !shared.working())) shared = ReadyWatcher.open() ?? null;
  return shared ?? undefined;
}

// Told when descriptors turn ready, without libuv's handles (issue 11). One poll(2) over every
// watched descriptor waits on one of libuv's threads (koffi's async call); an eventfd wakes it
// when the set changes. A process has one (readyWatcher()), so it holds at most one of libuv's
// threads, whoever watches:
//   - exit-watch.ts: pidfds, which turn readable when their process exits (the supervisor);
//   - the stdio of the children of sys/spawn.ts spawnPiped (the launchers, iptables: fd-io.ts)
//     and the supervisor's placement end (supervisor/control.ts): a net.Socket a descriptor cost
//     the CLI's thread ~1 ms each at first, node:net and the streams it loads ~2 ms more, in
//     every `up`.
// A watch is one-shot: its callback runs once, after the poll returned, with the poll's revents
// (POLLHUP and POLLERR come whatever was asked), and the watcher forgets the descriptor; the
// owner watches it again for more. A descriptor a poll under way holds is closed only once that
// poll returned (whenFree, which wakes it): a number closed and given to a new descriptor
// meanwhile would have the old poll's answer taken for the new one's. The thread is held while
// anything is watched; the process's exit lets it go: Node's exit waits for libuv's threads (a
// pending poll would hold an exiting process until a descriptor turned ready).
import { close, eventFd, eventFdDrain, eventFdSignal, POLLERR, POLLIN, pollOffThread } from './libc.js';

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
  /**
   * The descriptors of the poll under way (empty when none is): a close of another need not wait
   * for it. The close of a request's stdin, written whole without a watch, waited for a poll of
   * other launchers' answers and for this thread to take its answer: a fresh `up -d` of 5 handed
   * its launchers their requests' ends ~11 ms after it wrote them.
   */
  private inPoll = new Set<number>();
  private polling = false;
  private closed = false;
  /** Polls in a row that failed; past FAILURES_TOLERATED the watcher gives up (working() false). */
  private failures = 0;
  /** A failed poll's retry: holds the event loop, as the poll it stands for did. */
  private retry: NodeJS.Timeout | undefined;

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
   * never from this call, and not at all once stopped. Returns the function that stops the
   * watch and runs `closeFd` (if given) once no poll holds the descriptor (whenFree). Watching a
   * descriptor watched already replaces that watch. Once the watcher gave up (working() false),
   * `onReady` is called with POLLERR on a later turn: the owner finds nothing to read or write
   * (EAGAIN) and must not watch again.
   */
  watch(fd: number, events: number, onReady: (revents: number) => void): (closeFd?: () => void) => Promise<void> {
    const mine: Watch = { events, onReady };
    if (!this.working()) {
      setImmediate(() => onReady(POLLERR));
      return (closeFd) => (closeFd === undefined ? Promise.resolve() : this.whenFree(closeFd, fd));
    }
    this.watched.set(fd, mine);
    this.rearm();
    return (closeFd) => {
      if (this.watched.get(fd) === mine) {
        this.watched.delete(fd);
        this.rearm();
      }
      return closeFd === undefined ? Promise.resolve() : this.whenFree(closeFd, fd);
    };
  }

  /** Whether readiness is still reported: false once polls kept failing or after close(). */
  working(): boolean {
    return !this.closed && this.failures <= FAILURES_TOLERATED;
  }

  /**
   * Runs `closeFd` once no poll holds what it closes: at once when none is under way, or when
   * the descriptor it closes (`fd`, when given) is not one the poll under way was made with;
   * else once the poll, woken for it, returned. Resolves once it ran (its failure is not this
   * watcher's).
   */
  whenFree(closeFd: () => void, fd?: number): Promise<void> {
    if (!this.polling || (fd !== undefined && !this.inPoll.has(fd))) {
      quietly(closeFd);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.closers.push(() => {
        quietly(closeFd);
        resolve();
      });
      eventFdSignal(this.wake);
    });
  }

  /** Stops every watch and lets go of the poll's thread (idempotent); at the process's exit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watched.clear();
    clearTimeout(this.retry);
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
    if (this.closed || this.retry !== undefined || this.watched.size === 0) return;
    const polled = [...this.watched];
    this.polling = true; // its answer comes on a later turn; a call that cannot be made is undone below
    try {
      this.poll(polled);
    } catch {
      this.polling = false; // no poll runs: nothing waits for it (koffi's async call could not be made)
      this.inPoll.clear();
      this.failed();
    }
  }

  /** The poll of `polled` (and the eventfd) on one of libuv's threads; its answer tells the watches. */
  private poll(polled: [number, Watch][]): void {
    this.inPoll = new Set(polled.map(([fd]) => fd));
    pollOffThread([[this.wake, POLLIN], ...polled.map(([fd, w]): [number, number] => [fd, w.events])], (revents) => {
      this.polling = false;
      this.inPoll.clear();
      for (const closeFd of this.closers.splice(0)) closeFd();
      if (this.closed) {
        this.release();
        return;
      }
      if (revents === undefined) {
        this.failed();
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
      tellAll(ready.map(([w, r]) => () => w.onReady(r)));
    });
  }

  /**
   * A poll that failed (EINTR: a signal that thread took, most likely): made again after a
   * pause, unless they keep failing; then every watch is told POLLERR (working() is false).
   */
  private failed(): void {
    if (++this.failures <= FAILURES_TOLERATED) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.rearm();
      }, 10);
      return;
    }
    const left = [...this.watched.values()];
    this.watched.clear();
    tellAll(left.map((w) => () => w.onReady(POLLERR)));
  }
}

/** Runs `closeFd`; a close that fails (EBADF: a bug of its caller's) must not stop the others. */
function quietly(closeFd: () => void): void {
  try {
    closeFd();
  } catch {
    // the descriptor is not open: nothing is left to close
  }
}

/** Runs each callback; one that throws does not keep the others from running, and is rethrown after them. */
function tellAll(callbacks: readonly (() => void)[]): void {
  let thrown: { error: unknown } | undefined;
  for (const callback of callbacks) {
    try {
      callback();
    } catch (error) {
      thrown ??= { error };
    }
  }
  if (thrown !== undefined) throw thrown.error;
}

let shared: ReadyWatcher | undefined;

/** This process's watcher (one poll thread for all), made at the first call; throws where none can be made (no koffi, no eventfd). */
export function readyWatcher(): ReadyWatcher {
  shared ??= ReadyWatcher.open();
  if (shared === undefined) throw new Error('cannot watch descriptors: koffi or eventfd(2) is not usable here');
  return shared;
}

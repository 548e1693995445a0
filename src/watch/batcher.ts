// Turns a stream of file events into batches: a batch closes once nothing new came for the
// quiet window (an editor's save, a `git checkout` of a thousand files: one batch each), or
// once its first event is `maxDelayMs` old (a file written without pause still triggers).
// Three things stretch it: a batch of many changes waits a longer quiet window (a tool writing a
// thousand files may pause on a busy machine), so does one whose last event announces another
// (`lingers()`: a deleted file, which an editor's save creates again), and `hold()` keeps a
// batch open while it says a writer is still at work (git's index.lock), up to HOLD_MAX_MS.

/** The clock a batcher runs on (tests give a fake one). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's own timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Default quiet window: long enough for an editor's rename-and-write, short enough to feel instant. */
export const DEFAULT_QUIET_MS = 50;
/** A batch never waits longer than this after its first event (unless held). */
export const DEFAULT_MAX_DELAY_MS = 2000;
/** A batch this big is a tool at work, not an editor: it closes after BURST_QUIET_MS of quiet. */
export const BURST_EVENTS = 64;
export const BURST_QUIET_MS = 250;
/**
 * How many quiet windows a batch waits after its last event when `lingers` says a follow-up is
 * due (a file deleted, which an editor creates again at once): the watcher reports a created file
 * only after its stat, which a busy machine can hold past DEFAULT_QUIET_MS (seen in CI: a
 * delete-and-create restarted twice, 102 ms apart). 250 ms at the default window.
 */
export const LINGER_WINDOWS = 5;
/** The longest a hold keeps a batch open. */
export const HOLD_MAX_MS = 10_000;

/** Collects items and hands them over in batches. */
export class Batcher<T> {
  private items: T[] = [];
  private first = 0;
  private timer: unknown;

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly quietMs = DEFAULT_QUIET_MS,
    private readonly maxDelayMs = DEFAULT_MAX_DELAY_MS,
    private readonly clock: Clock = realClock,
    /** True while a writer is known to be still at work (the batch then stays open). */
    private readonly hold: () => boolean = () => false,
    /** True when the batch's events so far announce one more (it then waits LINGER_WINDOWS quiet windows). */
    private readonly lingers: (items: readonly T[]) => boolean = () => false,
  ) {}

  /** Adds one event; the batch closes `quietMs` after the last one (or at the cap). */
  add(item: T): void {
    const now = this.clock.now();
    if (this.items.length === 0) this.first = now;
    this.items.push(item);
    this.arm(now);
  }

  private arm(now: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const due = Math.min(now + this.quiet(), this.first + this.maxDelayMs);
    this.timer = this.clock.setTimeout(() => this.close(), Math.max(0, due - now));
  }

  /** The quiet window that closes the batch as it is: the longest its size and its last events call for. */
  private quiet(): number {
    return Math.max(this.quietMs, this.items.length >= BURST_EVENTS ? BURST_QUIET_MS : 0, this.lingers(this.items) ? this.quietMs * LINGER_WINDOWS : 0);
  }

  /** Drops what is pending (watching stops). */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }

  private close(): void {
    this.timer = undefined;
    const now = this.clock.now();
    if (this.items.length > 0 && now - this.first < HOLD_MAX_MS && this.hold()) {
      this.timer = this.clock.setTimeout(() => this.close(), this.quiet());
      return;
    }
    const items = this.items;
    this.items = [];
    if (items.length > 0) this.flush(items);
  }
}

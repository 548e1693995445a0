// Turns a stream of file events into batches: a batch closes once nothing new came for the
// quiet window (an editor's save, a `git checkout` of a thousand files: one batch each), or
// once its first event is `maxDelayMs` old (a file written without pause still triggers).

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
/** A batch never waits longer than this after its first event. */
export const DEFAULT_MAX_DELAY_MS = 2000;

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
  ) {}

  /** Adds one event; the batch closes `quietMs` after the last one (or at the cap). */
  add(item: T): void {
    const now = this.clock.now();
    if (this.items.length === 0) this.first = now;
    this.items.push(item);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const due = Math.min(now + this.quietMs, this.first + this.maxDelayMs);
    this.timer = this.clock.setTimeout(() => this.close(), Math.max(0, due - now));
  }

  /** Drops what is pending (watching stops). */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }

  private close(): void {
    this.timer = undefined;
    const items = this.items;
    this.items = [];
    if (items.length > 0) this.flush(items);
  }
}

// The stops of a teardown (`down`): once a stop's processes are gone, its last steps (the kill of
// what is left in its cgroup, the exit record, its record) wait until every stop of the teardown
// has got that far, has ended, or will never begin (the walker skipped it: a stop it waited for
// failed, or the walk was cancelled). Each of those steps is this thread's work. Done at once,
// they held up the other stops' signals and exits behind them, and with them what waits for
// every process to be gone: in a `down` of 20 the veth deletion began ~9 ms after the first
// stop's processes were gone; in a depends_on chain, where each stop begins once the one before
// it is gone, each link waited for the last steps of the one before (~0.6 ms a link, 20 links).
// In a teardown nothing waits for a stop's end but what waits for every stop anyway (the
// removals): a stop's dependents need only its processes gone (apply.ts lateDependencies).
// A stop that signalled its service and waits for it to exit (its grace period) holds no one's
// last steps: nothing begins until it is gone, and their records would otherwise wait with it.
// Its own module: apply() makes it for the run, the stop handlers (loaded with the kernel side,
// executor/kernel.ts) use it.

/** One stop under way: it says when its processes are gone (then waits for the others), and when it ends. */
export interface StopTogether {
  /** Its processes are gone; resolves once every stop of the teardown is gone, ended or skipped. */
  gone(): Promise<void>;
  /** It signalled its service and waits for it to exit (until gone() or leave()). */
  awaitsExit(): void;
  /** It ended (after gone, or without: it failed). */
  leave(): void;
}

export class StopsTogether {
  private running = 0;
  private gone = 0;
  /** Stops under way that signalled their service and wait for its exit. */
  private exiting = 0;
  private readonly waiting: (() => void)[] = [];
  /** Let go one per turn of the event loop (release()), not gone on yet. */
  private readonly dripping: (() => void)[] = [];
  /** Of `ids`, those that began or that the walker skipped. */
  private readonly accounted = new Set<string>();
  private everyGone: (() => void) | undefined;
  /** Resolves once every stop of the teardown is gone, ended or skipped (at once without stops). */
  readonly allGone: Promise<void>;

  /** `ids`: the teardown's stop-service operations (none in any other plan). */
  constructor(private readonly ids: ReadonlySet<string>) {
    this.allGone = ids.size === 0 ? Promise.resolve() : new Promise((resolve) => (this.everyGone = resolve));
  }

  /** Stop `id` (an operation id) begins: its part when it is one of the teardown's, else none (it waits for no one). */
  join(id: string): StopTogether | undefined {
    if (!this.ids.has(id)) return undefined;
    this.accounted.add(id);
    this.running++;
    let isGone = false;
    let isExiting = false;
    const notExiting = (): void => {
      if (isExiting) {
        isExiting = false;
        this.exiting--;
      }
    };
    return {
      gone: () => {
        notExiting();
        if (!isGone) {
          isGone = true;
          this.gone++;
        }
        const wait = new Promise<void>((go) => this.waiting.push(go));
        this.release();
        return wait;
      },
      awaitsExit: () => {
        if (isGone || isExiting) return;
        isExiting = true;
        this.exiting++;
        this.release();
      },
      leave: () => {
        notExiting();
        this.running--;
        if (isGone) this.gone--;
        this.release();
      },
    };
  }

  /** The walker skipped stop `id`: it will never begin, and is not waited for. */
  skipped(id: string): void {
    if (!this.ids.has(id)) return;
    this.accounted.add(id);
    this.release();
  }

  /**
   * Lets the waiting stops go on once every stop under way is gone (or ended) and every stop of
   * the teardown has begun or was skipped, or once every stop under way is gone or waits for its
   * service's exit (one does: nothing begins before it is gone): from the event loop's next
   * turn, after the walker's (it begins from there the operations their ready() let begin), so
   * that those begin first; in the second case one per turn. allGone resolves on the first
   * condition only.
   */
  private release(): void {
    const everyOne = this.gone >= this.running && this.accounted.size >= this.ids.size;
    if (everyOne) this.everyGone?.();
    if (!everyOne && !this.mayDrip()) return;
    if (everyOne) {
      // Those still let go one per turn go now too: no exit is left to see between them.
      const waiting = [...this.dripping.splice(0), ...this.waiting.splice(0)];
      if (waiting.length > 0) {
        setImmediate(() => {
          for (const go of waiting) go();
        });
      }
      return;
    }
    if (this.waiting.length === 0) return;
    // Some stops wait for their service's exit: one stop goes on per turn of the event loop, so
    // that an exit coming meanwhile is seen between them (its gone() and ready(): what waits for
    // every process to be gone, the veths' deletion in a down, begins then, not after every last
    // step of the others). A down of 20 that exit on SIGTERM (traced): 13 stops were gone when
    // the last signal went out, their last steps then held this thread for ~10 ms, and the other
    // 7 exits, ~1-4 ms after their signals, were seen only after them: the veths' deletion began
    // 13.5 ms after the last signal, one per turn 6.3 ms (bench-ab, 14 rounds: 167.7 -> 154.8 ms).
    const dripping = this.dripping.length > 0;
    this.dripping.push(...this.waiting.splice(0));
    if (dripping) return; // the turns under way take them
    const next = (): void => {
      // A stop begun meanwhile (one a gone stop's ready() let begin) holds the rest back again,
      // as it would have held them here; the release it then calls lets them go on.
      if (!this.mayDrip()) {
        this.waiting.unshift(...this.dripping.splice(0));
        return;
      }
      this.dripping.shift()?.();
      if (this.dripping.length > 0) setImmediate(next);
    };
    setImmediate(next);
  }

  /** Every stop under way is gone or waits for its service's exit, and one does. */
  private mayDrip(): boolean {
    return this.exiting > 0 && this.gone + this.exiting >= this.running;
  }
}

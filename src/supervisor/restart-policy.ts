// `restart:` decisions as pure functions, Docker's rules: `no` never; `always` and
// `unless-stopped` after any exit (the user's stop excepted, checked by the caller);
// `on-failure[:N]` after a non-zero exit or a signal, at most N times. The delay doubles from
// 100 ms up to 30 s and starts over once a process ran for 10 s.
import type { RestartPolicy } from '../spec/project.js';

/** How a process ended, as far as the policy cares. */
export interface Ending {
  /** null when a signal ended it or nothing is known. */
  readonly exitCode: number | null;
}

/** First delay before a restart. */
export const BACKOFF_START_MS = 100;
/** Longest delay. */
export const BACKOFF_MAX_MS = 30_000;
/** A process that ran this long resets the delay. */
export const BACKOFF_RESET_MS = 10_000;

/** Whether the policy restarts after `ending`, given the restarts already made for this start. */
export function shouldRestart(policy: RestartPolicy, ending: Ending, restarts: number): boolean {
  switch (policy.kind) {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return ending.exitCode !== 0 && (policy.maxRetries === undefined || policy.maxRetries <= 0 || restarts < policy.maxRetries);
  }
}

/** The delay before the next restart, given the restarts in a row so far (quick exits). */
export function backoffMs(consecutive: number): number {
  return Math.min(BACKOFF_START_MS * 2 ** Math.min(consecutive, 20), BACKOFF_MAX_MS);
}

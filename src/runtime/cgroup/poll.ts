// Waiting for the kernel: a group empties, a freeze takes hold, an rmdir stops being EBUSY.
// The wait is bounded by the sum of the sleeps (no clock), so tests with an instant fake
// never sleep and a stuck kernel object fails after a few seconds instead of hanging.

/** Delays between polls: 1, 2, 4 ... ms, then 50 ms steps. */
function delay(attempt: number): number {
  return Math.min(50, 2 ** attempt);
}

/**
 * Calls `check` until it returns true or about `budgetMs` of sleeping has passed; returns
 * whether it became true.
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  sleep: (ms: number) => Promise<void>,
  budgetMs = 5_000,
): Promise<boolean> {
  let slept = 0;
  for (let attempt = 0; ; attempt++) {
    if (await check()) return true;
    if (slept >= budgetMs) return false;
    const ms = delay(attempt);
    await sleep(ms);
    slept += ms;
  }
}

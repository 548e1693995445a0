// Polling for a condition in tests that drive real processes: no fixed sleeps, one deadline.

/** Resolves with the first value `probe` gives that is not undefined (nor false); throws naming `what` after `ms`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

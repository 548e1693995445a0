// Crash injection, for tests only and unreachable from what ships: nothing in src/ reads an
// environment variable for it. A test that wants `stack up`/`down` SIGKILLed at a point (the
// way a power cut or an OOM kill would stop it) starts the CLI with `node --import
// test/harness/crash-point.mjs`, which installs the hook under CRASH_HOOK on globalThis; without
// that module loaded, reached() does nothing. A point is an operation id (`create-network:default`,
// `start-service:web`: right after the operation is done) or `<id>:recorded` (after its step is
// recorded in the state dir, before the kernel object is made).

/** The globalThis key a test harness installs its hook under (see test/harness/crash-point.mjs). */
export const CRASH_HOOK = Symbol.for('stack.test.crash-hook');

/** The installed test hook, or one that does nothing (always, outside the test harness). */
export function crashHook(): (point: string) => void {
  const hook = (globalThis as Record<symbol, unknown>)[CRASH_HOOK];
  return typeof hook === 'function' ? (point) => void (hook as (point: string) => unknown)(point) : () => undefined;
}

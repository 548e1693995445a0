// Test only: STACK_TEST_CRASH_AT=<point> makes `stack up`/`down` SIGKILL itself at that point,
// the way a power cut or an OOM kill would stop it, so tests can prove that `stack down`
// cleans up after any crash. A point is an operation id (`create-network:default`,
// `start-service:web`: right after the operation is done) or `<id>:recorded` (after its step
// is recorded in the state dir, before the kernel object is made). Never set it otherwise.

/** The env var tests set. */
export const CRASH_ENV = 'STACK_TEST_CRASH_AT';

/** A `reached(point)` that kills this process when `point` is the one asked for. */
export function crashHook(crashAt: string | undefined): (point: string) => void {
  if (crashAt === undefined || crashAt === '') return () => undefined;
  return (point) => {
    if (point === crashAt) process.kill(process.pid, 'SIGKILL');
  };
}

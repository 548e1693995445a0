// Loaded with `node --import` by the crash tests (test/integration/up-down/rig.ts), never by
// stack itself: installs the executor's crash hook (src/executor/crash.ts), which SIGKILLs this
// process when the run reaches STACK_TEST_CRASH_AT. Without this module the variable does nothing.
const point = process.env.STACK_TEST_CRASH_AT;
if (point) {
  globalThis[Symbol.for('stack.test.crash-hook')] = (reached) => {
    if (reached === point) process.kill(process.pid, 'SIGKILL');
  };
}

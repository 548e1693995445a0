// Leaving the process without waiting for the kernel to unmap it (native/lib/leave.c). A command
// ends with Node's heap, koffi and the packs' code mapped (~60 MB), and exit_group's teardown of
// that made whoever waits for the command (a shell, a script, a bench) wait for the kernel to
// unmap it page by page before telling the parent: from an `up -d`'s last mark to its parent's
// 'exit' event 5.1-20.2 ms (median 6.1 of 12), where it is now 0.6 (stack_leave hands the last
// reference to a holder process sharing the memory). Only where koffi is loaded already: loading
// it to leave would cost what it saves.
import { loadedKoffi } from './koffi.js';
import { LIBSTACK_PATH } from './native-spawn.js';

/**
 * Ends the process with `status` as process.exit() does ('exit' listeners run first), without
 * the teardown's wait. Returns, having done nothing, where it cannot (koffi not loaded, no
 * libstack.so): the caller exits its own way then.
 */
export function leaveNow(status: number): void {
  const koffi = loadedKoffi();
  if (koffi === undefined) return;
  let leave: (status: number) => void;
  try {
    leave = koffi.load(LIBSTACK_PATH).func('void stack_leave(int status)') as unknown as (status: number) => void;
  } catch {
    return; // not built (a tsc-only checkout): Node's exit
  }
  // What process.exit() does before it leaves: its listeners once (it does not run them again).
  (process as { _exiting?: boolean })._exiting = true;
  process.emit('exit', status);
  leave(status);
}

// Leaving the process without waiting for the kernel to unmap it (native/lib/leave.c). A command
// ends with Node's heap, koffi and the packs' code mapped (~60 MB), and exit_group's unmapping
// of that made whoever waits for the command (a shell, a script, a bench) wait before it was
// told: from an `up -d`'s last mark ('up: applied') to its parent's 'exit' event 5.1-20.2 ms
// (median 6.1 of 12), ~1.4 since (0.6 from the mark just before the call, 0.8 after
// 'up: applied'). stack_leave hands the memory's last reference to a holder process sharing it.
//
// Only where koffi is loaded already (loading it to leave would cost what it saves), no
// descriptor 0-2 is a terminal and the process is in the first pid namespace
// (stack_leave_possible), and no profiler or coverage writes its output at Node's exit
// (--cpu-prof, --heap-prof, --prof, NODE_V8_COVERAGE): Node's exit does those, this does not.
// What else Node's exit does that this must do too: the 'exit' listeners (emitted here), and
// descriptors 0-2 given back the O_NONBLOCK they had at start (Node's ResetStdio). Node changes
// that flag only on a descriptor whose stream it makes (a pipe, a socket), so the flag is read
// from /proc as the stream is first asked for, through process.stdin, stdout and stderr, and only
// those descriptors are given it back. Read for all three as this module loaded, it cost every
// command ~2.5 ms of its start (traced, `stack --help`).
import { readFileSync } from 'node:fs';
import { loadedKoffi } from './koffi.js';
import { LIBSTACK_PATH } from './native-spawn.js';

const O_NONBLOCK = 0o4000;

/** Descriptors 0-2 whose stream was asked for (bit i: descriptor i), and of those, the ones that were non-blocking then. */
let streamed = 0;
let nonblockingAtStart = 0;

/** Whether `fd` is non-blocking now: /proc's fdinfo, no system call of koffi's (false when it is closed). */
function nonblocking(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_NONBLOCK) !== 0;
  } catch {
    return false;
  }
}

// Each stdio getter notes its descriptor's flag before Node first makes the stream.
for (const [fd, name] of [[0, 'stdin'], [1, 'stdout'], [2, 'stderr']] as const) {
  const own = Object.getOwnPropertyDescriptor(process, name);
  const get = own?.get;
  if (get === undefined || own?.configurable !== true) continue;
  Object.defineProperty(process, name, {
    ...own,
    get() {
      if ((streamed & (1 << fd)) === 0) {
        streamed |= 1 << fd;
        if (nonblocking(fd)) nonblockingAtStart |= 1 << fd;
      }
      return get.call(process);
    },
  });
}

/** The stdout and stderr streams the process made (asking for one makes it: none is asked for here). */
export function outputStreamsMade(): NodeJS.WriteStream[] {
  return ([[1, 'stdout'], [2, 'stderr']] as const).flatMap(([fd, name]) => ((streamed & (1 << fd)) !== 0 ? [process[name]] : []));
}

/** Whether Node's own exit has output to write (a profile, coverage), which leaving here would lose. */
function profiled(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return process.env.NODE_V8_COVERAGE !== undefined || flags.some((f) => /^--(cpu-prof|heap-prof|prof)(=|$)/.test(f));
}

/**
 * Ends the process with `status` as process.exit() does ('exit' listeners run first), without
 * the unmapping's wait. Returns, having done nothing, where it cannot or must not (see above):
 * the caller exits its own way then.
 */
export function leaveNow(status: number): void {
  const koffi = loadedKoffi();
  if (koffi === undefined || profiled()) return;
  let possible: () => number;
  let leave: (status: number, streamed: number, nonblocking: number) => void;
  try {
    const lib = koffi.load(LIBSTACK_PATH);
    possible = lib.func('int stack_leave_possible(void)') as unknown as () => number;
    leave = lib.func('void stack_leave(int status, int restore, int nonblocking_at_start)') as unknown as typeof leave;
  } catch {
    return; // not built (a tsc-only checkout), or an older libstack.so: Node's exit
  }
  if (possible() !== 1) return;
  // What process.exit() does before it leaves: its listeners once (it does not run them again).
  (process as { _exiting?: boolean })._exiting = true;
  process.emit('exit', status);
  leave(status, streamed, nonblockingAtStart);
}

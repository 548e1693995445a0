// Phase timings for profiling latency (issue 11: "decide from profiles"): with STACK_TRACE=1 in
// the environment, each mark prints `trace <pid> +<ms since the previous mark> ms <label> @<wall
// clock ms, last 6 digits>` to stderr (the clock lines up the CLI's marks with its supervisor's);
// without it a mark is one branch on a constant. STACK_TRACE=cpu adds the CPU time this process
// spent since the previous mark (all its threads, user + system: getrusage): wall time says when
// a phase ended, this what it cost, which the other core's work (launchers, the kernel's
// threads) does not move; then the CPU time of the calling thread alone (schedstat), which
// libuv's threads do not move either: wall minus thread is when the CLI's thread waited (or
// was runnable, the other core busy); then the minor page faults of the process (getrusage): on
// a VM whose page faults are dear (a paravirtualized guest: ~10 µs each) they are much of a
// phase's cost. With STACK_TRACE_MONO=1 the clock printed after `@` is CLOCK_MONOTONIC in ms, the clock of `perf record -k mono`, to line marks up with the
// kernel's tracepoints (sched_switch, cgroup_attach_task).
import { readFileSync, writeSync } from 'node:fs';

const on = process.env.STACK_TRACE === '1' || process.env.STACK_TRACE === 'cpu';
const withCpu = process.env.STACK_TRACE === 'cpu';
const monotonic = process.env.STACK_TRACE_MONO === '1';
let last = 0;
let lastCpu = 0;
let lastMain = 0;
let lastFaults = 0;

/** This thread's CPU time in ms (schedstat's first field, ns), or NaN where /proc has none. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ', 1)[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** Set once a trace line went to process.stderr: the later ones follow it there, in order. */
let streamed = false;

/**
 * Writes a trace line with write(2): making process.stderr for it would cost the traced command
 * ~5 ms at its first mark (cli/output.ts), which the same command without STACK_TRACE never
 * spends. What write(2) does not take (a full non-blocking pipe) goes to the stream, and so does
 * every line after it.
 */
function say(line: string): void {
  if (streamed) {
    process.stderr.write(line);
    return;
  }
  const bytes = Buffer.from(line);
  let written = 0;
  try {
    while (written < bytes.length) {
      const n = writeSync(2, bytes, written);
      if (n <= 0) break;
      written += n;
    }
  } catch {
    // EAGAIN: the stream queues the rest
  }
  if (written < bytes.length) {
    streamed = true;
    process.stderr.write(bytes.subarray(written));
  }
}

/** Prints the time since the previous mark and `label` when STACK_TRACE is 1 or cpu; nothing otherwise. */
export function mark(label: string): void {
  if (!on) return;
  const now = performance.now();
  const wall = monotonic ? (Number(process.hrtime.bigint() / 1000n) / 1000).toFixed(3) : ((performance.timeOrigin + now) % 1e6).toFixed(1);
  let cpu = '';
  if (withCpu) {
    const { userCPUTime, systemCPUTime, minorPageFault } = process.resourceUsage();
    const used = (userCPUTime + systemCPUTime) / 1000;
    const main = threadCpuMs();
    cpu = ` cpu +${(used - lastCpu).toFixed(1)} ms, thread +${(main - lastMain).toFixed(1)} ms, faults +${String(minorPageFault - lastFaults)}`;
    lastCpu = used;
    lastMain = main;
    lastFaults = minorPageFault;
  }
  say(`trace ${String(process.pid)} +${(now - last).toFixed(1).padStart(6)} ms ${label} @${wall}${cpu}\n`);
  last = now;
}

/** With STACK_TRACE set (1 or cpu), one operation's span (`op <id> <from>..<to> ms` since the process began). */
export function traceSpan(label: string, from: number, to: number): void {
  if (!on) return;
  say(`trace ${String(process.pid)} op ${label} ${from.toFixed(1)}..${to.toFixed(1)} ms\n`);
}

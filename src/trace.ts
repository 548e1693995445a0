// Phase timings for profiling latency (issue 11: "decide from profiles"): with STACK_TRACE=1 in
// the environment, each mark prints `trace <pid> +<ms since the previous mark> ms <label> @<wall
// clock ms, last 6 digits>` to stderr (the clock lines up the CLI's marks with its supervisor's);
// without it a mark is one branch on a constant. STACK_TRACE=cpu adds the CPU time this process
// spent since the previous mark (all its threads, user + system: getrusage): wall time says when
// a phase ended, this what it cost, which the other core's work (launchers, the kernel's
// threads) does not move.
const on = process.env.STACK_TRACE === '1' || process.env.STACK_TRACE === 'cpu';
const withCpu = process.env.STACK_TRACE === 'cpu';
let last = 0;
let lastCpu = 0;

/** Prints the time since the previous mark and `label` when STACK_TRACE is 1 or cpu; nothing otherwise. */
export function mark(label: string): void {
  if (!on) return;
  const now = performance.now();
  const wall = ((performance.timeOrigin + now) % 1e6).toFixed(1);
  let cpu = '';
  if (withCpu) {
    const { user, system } = process.cpuUsage();
    const used = (user + system) / 1000;
    cpu = ` cpu +${(used - lastCpu).toFixed(1)} ms`;
    lastCpu = used;
  }
  process.stderr.write(`trace ${String(process.pid)} +${(now - last).toFixed(1).padStart(6)} ms ${label} @${wall}${cpu}\n`);
  last = now;
}

/** With STACK_TRACE set (1 or cpu), one operation's span (`op <id> <from>..<to> ms` since the process began). */
export function traceSpan(label: string, from: number, to: number): void {
  if (!on) return;
  process.stderr.write(`trace ${String(process.pid)} op ${label} ${from.toFixed(1)}..${to.toFixed(1)} ms\n`);
}

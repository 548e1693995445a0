// Phase timings for profiling latency (issue 11: "decide from profiles"): with STACK_TRACE=1 in
// the environment, each mark prints `trace <pid> +<ms since the previous mark> ms <label> @<wall
// clock ms, last 6 digits>` to stderr (the clock lines up the CLI's marks with its supervisor's);
// without it a mark is one branch on a constant.
const on = process.env.STACK_TRACE === '1';
let last = 0;

/** Prints the time since the previous mark and `label` when STACK_TRACE=1; nothing otherwise. */
export function mark(label: string): void {
  if (!on) return;
  const now = performance.now();
  const wall = ((performance.timeOrigin + now) % 1e6).toFixed(1);
  process.stderr.write(`trace ${String(process.pid)} +${(now - last).toFixed(1).padStart(6)} ms ${label} @${wall}\n`);
  last = now;
}

/** With STACK_TRACE=1, one operation's span (`op <id> <from>..<to> ms` since the process began). */
export function traceSpan(label: string, from: number, to: number): void {
  if (!on) return;
  process.stderr.write(`trace ${String(process.pid)} op ${label} ${from.toFixed(1)}..${to.toFixed(1)} ms\n`);
}

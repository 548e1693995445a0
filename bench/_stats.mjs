// Small timing helpers shared by the benchmarks.
import { spawnSync } from 'node:child_process';

/** Median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall-clock milliseconds of one synchronous run of `cmd args`; throws when it fails. */
export function timeCommand(cmd, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore', ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  return ms;
}

/** Runs `a` and `b` alternately `n` times (after `warmup` rounds), returns both medians. */
export function compare(n, a, b, warmup = 3) {
  for (let i = 0; i < warmup; i++) (a(), b());
  const ta = [];
  const tb = [];
  for (let i = 0; i < n; i++) (ta.push(a()), tb.push(b()));
  return { a: median(ta), b: median(tb) };
}

/** `12.34 ms` */
export const ms = (x) => `${x.toFixed(2)} ms`;

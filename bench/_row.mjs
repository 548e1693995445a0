// The result protocol of issue 11: besides its human output, every bench prints one line per
// measured row, `@row {json}`, which bench/run.mjs collects into one table (and last.json).

/**
 * Prints the `@row` line of a timed row: `ours` against `floor` (ms), the ratio (ours/floor
 * unless given, e.g. the median of per-round ratios), the ratio the issue allows (`target`,
 * null when none) and what the floor is.
 */
export function emitRow(bench, row, ours, floor, target, what, ratio = ours / floor) {
  const r = (x) => Math.round(x * 100) / 100;
  const line = { bench, row, ours_ms: r(ours), floor_ms: r(floor), ratio: r(ratio), target: target ?? null, floor: what };
  console.log(`@row ${JSON.stringify(line)}`);
}

/** Prints the `@row` line of a memory row: `ours` KiB against the `limit` KiB the issue allows. */
export function emitMemoryRow(bench, row, oursKib, limitKib, what) {
  const r = (x) => Math.round(x * 100) / 100;
  const line = { bench, row, ours_kib: r(oursKib), limit_kib: r(limitKib), ratio: r(oursKib / limitKib), target: 1, floor: what };
  console.log(`@row ${JSON.stringify(line)}`);
}

/**
 * The environment of the CLI floor's `node -e 0`: Node started as `stack` starts it. Run as a
 * command, bin/stack.cjs starts Node without NODE_EXTRA_CA_CERTS (it adds those certificates
 * only to its own TLS connections), so the floor is Node started without it too: a floor that
 * parsed a bundle the CLI does not would credit stack with ~40 ms it did not save (Debian's 144
 * certificates on the kind of docs/performance.md).
 */
export function cliFloorEnv(env = process.env) {
  const { NODE_EXTRA_CA_CERTS: _certificates, ...rest } = env;
  return rest;
}

// The projects the lifecycle benches bring up: N services of one trivial command, optionally a
// depends_on chain (bench/lifecycle.mjs, scripts/bench-ab.mjs).

/** Service commands: a `sleep` as pid 1 (killed at once by `down`: no handler for SIGTERM), one whose pid 1 ignores SIGTERM, one that exits on it. */
export const COMMANDS = {
  sleep: '["sleep", "3600"]',
  ignore: `["sh", "-c", "trap '' TERM; sleep 3600 & wait"]`,
  term: `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`,
};

/** A stack.yaml of project `name` with `n` services s0..s(n-1), each depending on the one before with `chain`. */
export function spec(name, n, { chain = false, command = COMMANDS.sleep } = {}) {
  const services = Array.from({ length: n }, (_, i) => {
    const dep = chain && i > 0 ? `    depends_on: [s${i - 1}]\n` : '';
    return `  s${i}:\n    command: ${command}\n${dep}`;
  }).join('');
  return `name: ${name}\nservices:\n${services}`;
}

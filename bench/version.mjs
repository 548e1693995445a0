// `stack --version` start-up time against Node's own start (`node -e 0`), in one run.
// Target (issue 2): within 20 ms of node -e 0; issue 11: within 1.3× of it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, timeCommand, ms } from './_stats.mjs';
import { cliFloorEnv, emitRow } from './_row.mjs';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'stack.cjs');
const n = Number(process.env.BENCH_N ?? 30);
const { a: stack, b: node } = compare(
  n,
  () => timeCommand(bin, ['--version']),
  () => timeCommand(process.execPath, ['-e', '0'], { env: cliFloorEnv() }),
);
console.log(`node -e 0          median ${ms(node)}  (n=${n})`);
console.log(`stack --version    median ${ms(stack)}`);
console.log(`difference         ${ms(stack - node)}  (target < 20 ms)   ratio ${(stack / node).toFixed(2)}x`);
emitRow('version', 'stack --version', stack, node, 1.3, 'node -e 0');

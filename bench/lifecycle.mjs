// Issue 11's lifecycle targets through the real CLI, each against its floor measured in the same
// run (bench/_floor.mjs: the same kernel objects made and removed by a script; CLI floor =
// `node -e 0`), ours and the floor alternating within each round (the order swaps every round):
//   up -d N        fresh project of N `sleep 3600` services (1, 5, 20; 20 in a depends_on chain)
//                  vs scripted up + CLI floor, target 1.5×
//   no-op up -d N  `up -d` again, nothing to do, vs CLI floor, target 2×
//   down N         vs scripted down + CLI floor, target 1.5×; also for 20 services whose pid 1
//                  ignores SIGTERM (`trap '' TERM`: down kills it at once) and 20 that exit on it
//   ps 20          `stack ps` of the 20 running services vs CLI floor, target 1.3×
//   restart 1      `stack restart s0` vs CLI floor + one scripted launch, target 2×
//   exec 1         `stack exec -T s0 true` vs CLI floor + one scripted exec (the service's cgroups
//                  joined, nsenter into its namespaces), 2× as restart's (not an issue-11 target)
// Figures are medians over the rounds; the ratio is the median of the per-round ratios (ours
// against the floor measured in the same round, a few seconds apart), which the load of a shared
// machine moves less than a ratio of medians taken minutes apart.
// Run after `npm run build`, as root: node bench/lifecycle.mjs [rounds, default 5] [configs,
// e.g. 1,5,20,chain,ignore,term,restart,exec]
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { median, ms } from './_stats.mjs';
import { cliFloorEnv, emitRow } from './_row.mjs';
import { floorCleanup, scriptedDown, scriptedExec, scriptedRelaunch, scriptedUp } from './_floor.mjs';
import { COMMANDS, spec } from './_spec.mjs';
import { describeState, removeStateDir, stateDir } from './_state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/stack.cjs');
if (!existsSync(join(root, 'dist/cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/lifecycle.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/lifecycle.mjs: needs root (namespaces, cgroups, links)');
  process.exit(1);
}
const ROUNDS = Math.max(1, Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 5));
const CONFIGS = (process.argv[3] ?? '1,5,20,chain,ignore,term,restart,exec').split(',');
const BENCH = 'lifecycle';

/** Wall ms of `cmd args` to its exit (code 0 required). */
function timed(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(cmd, args, options, (error, _out, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}
const cliFloor = () => timed(process.execPath, ['-e', '0'], { env: cliFloorEnv() });

const dir = mkdtempSync(join(tmpdir(), 'stack-bench-lifecycle-'));
const state = stateDir('lifecycle');
const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
const stack = (...args) => timed(bin, [...args, '--progress', 'quiet'], { cwd: dir, env });
const stackPlain = (...args) => timed(bin, [...args], { cwd: dir, env });
const live = new Set(); // projects that may be up
const handles = new Set(); // floor handles that may be up

/** A fresh project (new name) with `n` services written to dir/stack.yaml; returns its name. */
function freshProject(n, options) {
  const name = `bench${randomBytes(4).toString('hex')}`;
  writeFileSync(join(dir, 'stack.yaml'), spec(name, n, options));
  return name;
}

async function ourDown(name) {
  const t = await stack('down');
  live.delete(name);
  return t;
}

async function floorUp(n, options) {
  const { ms: t, handle } = await scriptedUp(n, options);
  handles.add(handle);
  return { t, handle };
}

async function floorDown(handle) {
  const t = await scriptedDown(handle);
  handles.delete(handle);
  return t;
}

/** Runs `a` and `b` in alternating order each round (a first on even rounds), then `end`. */
async function alternate(a, b, end = () => undefined) {
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) (await a(), await b());
    else (await b(), await a());
    end();
  }
}

const table = [];
/**
 * Records a row for the human table and prints its @row line: `ours[r]` against `floor[r]` of
 * the same round r (arrays of equal length).
 */
function row(name, ours, floor, target, what) {
  const ratio = median(ours.map((x, i) => x / floor[i]));
  const [o, f] = [median(ours), median(floor)];
  table.push({ name, ours: o, floor: f, ratio, target, what });
  emitRow(BENCH, name, o, f, target, what, ratio);
}

/** Per-round sums of aligned samples. */
const plus = (xs, ys) => xs.map((x, i) => x + ys[i]);

/** up -d, no-op up -d (and ps at 20), down of N services against the scripted floor. */
async function upDown(label, n, options = {}) {
  // cli: one node -e 0 per round, taken beside ours and the floor alternately
  const s = { up: [], noop: [], ps: [], down: [], fUp: [], fDown: [], cli: [] };
  let cliRound = [];
  await alternate(
    async () => {
      const name = freshProject(n, options);
      live.add(name);
      s.up.push(await stack('up', '-d'));
      s.noop.push(await stack('up', '-d'));
      if (options.ps) s.ps.push(await stackPlain('ps'));
      cliRound.push(await cliFloor());
      s.down.push(await ourDown(name));
    },
    async () => {
      const { t, handle } = await floorUp(n, { chain: options.chain });
      s.fUp.push(t);
      cliRound.push(await cliFloor());
      s.fDown.push(await floorDown(handle));
    },
    () => {
      s.cli.push(median(cliRound));
      cliRound = [];
    },
  );
  const { cli } = s;
  if (options.up !== false) {
    row(`up -d ${label}`, s.up, plus(s.fUp, cli), 1.5, 'scripted up + node -e 0');
    row(`no-op up -d ${label}`, s.noop, cli, 2, 'node -e 0');
  }
  row(`down ${label}`, s.down, plus(s.fDown, cli), 1.5, 'scripted down + node -e 0');
  if (options.ps) row(`ps ${label}`, s.ps, cli, 1.3, 'node -e 0');
}

/**
 * One step on a running one-service project (`ours`) against node -e 0 + the same step scripted
 * on the floor's (`floorStep`), target 2×.
 */
async function oneService(label, ours, floorStep, what) {
  const name = freshProject(1);
  live.add(name);
  await stack('up', '-d');
  const { handle } = await floorUp(1);
  const s = { ours: [], floor: [], cli: [] };
  try {
    await alternate(
      async () => s.ours.push(await ours()),
      async () => (s.floor.push(await floorStep(handle)), s.cli.push(await cliFloor())),
    );
  } finally {
    await ourDown(name);
    await floorDown(handle);
  }
  row(label, s.ours, plus(s.floor, s.cli), 2, what);
}

/** `stack restart s0` against node -e 0 + one scripted launch. */
const restart = () => oneService('restart 1', () => stack('restart', 's0'), (handle) => scriptedRelaunch(handle, 0), 'node -e 0 + one scripted launch');

/** `stack exec -T s0 true` against node -e 0 + one scripted exec. */
const exec = () => oneService('exec 1', () => stackPlain('exec', '-T', 's0', 'true'), (handle) => scriptedExec(handle, 0), 'node -e 0 + one scripted exec');

const RUNS = {
  1: () => upDown('1', 1),
  5: () => upDown('5', 5),
  20: () => upDown('20', 20, { ps: true }),
  chain: () => upDown('20 chain', 20, { chain: true }),
  ignore: () => upDown('20 ignores TERM', 20, { command: COMMANDS.ignore, up: false }),
  term: () => upDown('20 exits on TERM', 20, { command: COMMANDS.term, up: false }),
  restart,
  exec,
};

const load0 = loadavg()[0];
try {
  for (const c of CONFIGS) {
    if (!RUNS[c]) throw new Error(`bench/lifecycle.mjs: unknown config ${c} (have ${Object.keys(RUNS).join(', ')})`);
    await RUNS[c]();
  }
} finally {
  for (const name of live) await stack('-p', name, 'down').catch((e) => console.error(`cleanup of ${name}: ${e.message}`));
  for (const h of handles) await floorCleanup(h);
  rmSync(dir, { recursive: true, force: true });
  removeStateDir(state);
}
console.log(`stack lifecycle vs its floor; median of ${ROUNDS} rounds; load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}; state in ${describeState(state)}`);
console.log(`${'row'.padEnd(26)} ${'stack'.padStart(11)} ${'floor'.padStart(11)}  ratio  target  floor`);
for (const r of table) {
  const { ratio } = r;
  const ok = r.target === null ? ' ' : ratio <= r.target ? '✓' : '✗';
  console.log(`${r.name.padEnd(26)} ${ms(r.ours).padStart(11)} ${ms(r.floor).padStart(11)}  ${ratio.toFixed(2).padStart(5)}  ${String(r.target ?? '-').padStart(4)}× ${ok} ${r.what}`);
}

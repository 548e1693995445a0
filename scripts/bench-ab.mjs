#!/usr/bin/env node
// Compares two builds of stack on this host, as docs/performance.md's measurements do: rounds of
// a fresh `up -d` of N services, a no-op `up -d`, `ps` (its output read by this script, as a
// program or a pipe reads it) and `down`, each build in turn, the order swapped every round so
// that the machine's moods (its load moves timings by 5-20 % within minutes) hit both. Prints
// the medians of each step's wall time and of its process's CPU time (its main thread, and all
// its threads), and B against A. Not a bench of bench/run.mjs: it needs two checkouts.
//
// Usage, as root, both checkouts built (`npm run build`):
//   node scripts/bench-ab.mjs A_DIR B_DIR [--services N] [--rounds R] [--chain]
//     [--command sleep|ignore|term]
// e.g. `git worktree add /tmp/a <rev>` and build there, then compare it with this checkout.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from '../bench/_stats.mjs';
import { COMMANDS, spec } from '../bench/_spec.mjs';
import { removeStateDir, stateDir } from '../bench/_state.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const services = Number(option('--services', '20'));
const rounds = Number(option('--rounds', '12'));
const chain = flag('--chain');
const kind = option('--command', 'sleep');
const usage = 'usage: node scripts/bench-ab.mjs A_DIR B_DIR [--services N] [--rounds R] [--chain] [--command sleep|ignore|term]';
if (args.length !== 2 || !(services >= 1) || !(rounds >= 1) || COMMANDS[kind] === undefined) {
  console.error(usage);
  process.exit(2);
}
const builds = { A: resolve(args[0]), B: resolve(args[1]) };
for (const [k, dir] of Object.entries(builds)) {
  if (!existsSync(join(dir, 'bin/stack.cjs')) || !existsSync(join(dir, 'dist/cli/main.js'))) {
    console.error(`bench-ab: ${k} (${dir}) is not a built checkout of stack (run \`npm run build\` there)`);
    process.exit(2);
  }
}
if (process.getuid?.() !== 0) {
  console.error('bench-ab: needs root (namespaces, cgroups, links)');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'stack-bench-ab-'));
const cpuFile = join(dir, 'cpu.jsonl');
// Loaded into each command (-r): at its exit, the CPU time of its main thread (schedstat) and
// of all its threads. Both builds get it, and its own cost with it.
const probe = join(dir, 'cpu-probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => {
  const fs = require('node:fs');
  const u = process.resourceUsage();
  const main = Number(fs.readFileSync('/proc/self/task/' + process.pid + '/schedstat', 'utf8').split(' ')[0]) / 1e6;
  fs.appendFileSync(process.env.STACK_AB_CPU, JSON.stringify({ main, all: (u.userCPUTime + u.systemCPUTime) / 1000 }) + '\\n');
});
`,
);
const state = stateDir('ab');
const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', STACK_AB_CPU: cpuFile };
const live = new Map(); // project name -> the build that made it

/** Set by Ctrl-C (SIGINT): no command starts after the one under way, then what is up is taken down. */
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));

/** Runs one command of build `k`; its wall ms and CPU (main thread, all threads). */
function step(k, stackArgs) {
  if (interrupted) return Promise.reject(new Error('interrupted'));
  rmSync(cpuFile, { force: true });
  return new Promise((done, fail) => {
    const t0 = performance.now();
    execFile(process.execPath, ['-r', probe, join(builds[k], 'bin/stack.cjs'), ...stackArgs], { cwd: dir, env }, (error, _out, stderr) => {
      const wall = performance.now() - t0;
      if (error) return fail(new Error(`${k}: stack ${stackArgs.join(' ')}: ${error.message}\n${stderr}`));
      const cpu = JSON.parse(readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1));
      done({ wall, ...cpu });
    });
  });
}

const STEPS = ['up -d', 'no-op up -d', 'ps', 'down'];
const samples = { A: {}, B: {} };
for (const k of ['A', 'B']) for (const s of STEPS) samples[k][s] = [];

async function round(k, keep) {
  const name = `ab${Math.random().toString(16).slice(2, 10)}`;
  writeFileSync(join(dir, 'stack.yaml'), spec(name, services, { chain, command: COMMANDS[kind] }));
  if (interrupted) throw new Error('interrupted');
  live.set(name, k);
  const got = {};
  got['up -d'] = await step(k, ['up', '-d', '--progress', 'quiet']);
  got['no-op up -d'] = await step(k, ['up', '-d', '--progress', 'quiet']);
  got.ps = await step(k, ['ps']);
  got.down = await step(k, ['down', '--progress', 'quiet']);
  live.delete(name);
  if (keep) for (const s of STEPS) samples[k][s].push(got[s]);
}

/** Takes down what a failed or interrupted run left up, and the state folder. */
async function cleanup() {
  for (const [name, k] of live) {
    await new Promise((done) =>
      execFile(process.execPath, [join(builds[k], 'bin/stack.cjs'), '-p', name, 'down', '--progress', 'quiet'], { cwd: dir, env }, () => done()),
    );
  }
  rmSync(dir, { recursive: true, force: true });
  removeStateDir(state);
}
try {
  // Unmeasured: each build's first commands after a build write its code cache.
  for (const k of ['A', 'B', 'A', 'B']) await round(k, false);
  for (let r = 0; r < rounds; r++) for (const k of r % 2 ? ['A', 'B'] : ['B', 'A']) await round(k, true);
} catch (e) {
  await cleanup();
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(interrupted ? 130 : 1);
}
await cleanup();

const f = (x) => x.toFixed(1).padStart(7);
console.log(`${services} services${chain ? ' (depends_on chain)' : ''}, ${kind}; ${rounds} rounds alternating; medians, ms`);
console.log(`A ${builds.A}\nB ${builds.B}`);
console.log('step           wall A   wall B   B/A   main A   main B    all A    all B');
for (const s of STEPS) {
  const [a, b] = [samples.A[s], samples.B[s]];
  const m = (xs, key) => median(xs.map((x) => x[key]));
  console.log(`${s.padEnd(12)} ${f(m(a, 'wall'))}  ${f(m(b, 'wall'))}  ${(m(b, 'wall') / m(a, 'wall')).toFixed(2)}  ${f(m(a, 'main'))}  ${f(m(b, 'main'))}  ${f(m(a, 'all'))}  ${f(m(b, 'all'))}`);
}

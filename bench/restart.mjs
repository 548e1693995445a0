// `stack restart web` of one plain `node` http server, through the real CLI and through the
// restartServices() function watch calls (the same work without the CLI's Node start and spec
// load), against the floor measured in the same run: `node -e 0` (any CLI's start) plus one bare
// launch of `unshare --pid --fork --mount --uts --ipc --net true` (the least a new process costs).
// With -p NAME the CLI skips loading the spec (its loader is ~0.12 s of module loading).
// Run after `npm run build`, as root: node bench/restart.mjs [rounds]
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { median, ms } from './_stats.mjs';
import { cliFloorEnv, emitRow } from './_row.mjs';
import { removeStateDir, stateDir } from './_state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/stack.cjs');
if (!existsSync(join(root, 'dist/cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/restart.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/restart.mjs: needs root (namespaces, cgroups, links)');
  process.exit(1);
}
const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 20);

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

function bareLaunch() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--net', 'true'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`unshare exited ${code}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'stack-bench-restart-'));
const name = `bench${randomBytes(4).toString('hex')}`;
const state = stateDir('restart');
const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
writeFileSync(
  join(dir, 'stack.yaml'),
  `name: ${name}\nservices:\n  web:\n    command: ["node", "-e", "require('http').createServer((q, r) => r.end('hi')).listen(8080)"]\n`,
);
const stack = (...args) => timed(bin, [...args], { cwd: dir, env });

// The function, in this process, with the env the CLI would build.
Object.assign(process.env, { STACK_ROOT: env.STACK_ROOT, STACK_IP_FORWARD: 'leave' });
const { restartServices } = await import(join(root, 'dist/cli/commands/lifecycle.js'));
const { executorEnv } = await import(join(root, 'dist/cli/commands/executor-env.js'));
const { supervisorControl } = await import(join(root, 'dist/supervisor/index.js'));
const { readSnapshot } = await import(join(root, 'dist/state/snapshot.js'));
const { nullSink } = await import(join(root, 'dist/executor/events.js'));

const rows = { cli: [], cliP: [], fn: [], node: [], launch: [] };
try {
  await stack('up', '-d', '--progress', 'quiet');
  const runEnv = executorEnv({ env: process.env }, supervisorControl());
  const project = (await readSnapshot(runEnv.roots, name)).project;
  const fn = async () => {
    const t0 = performance.now();
    await restartServices({ env: runEnv, project, services: ['web'], cause: 'bench', sink: nullSink });
    return performance.now() - t0;
  };
  for (let r = 0; r < 2; r++) (await stack('restart', 'web', '--progress', 'quiet'), await fn());
  for (let r = 0; r < ROUNDS; r++) {
    rows.cli.push(await stack('restart', 'web', '--progress', 'quiet'));
    rows.cliP.push(await stack('-p', name, 'restart', 'web', '--progress', 'quiet'));
    rows.fn.push(await fn());
    rows.node.push(await timed(process.execPath, ['-e', '0'], { env: cliFloorEnv() }));
    rows.launch.push(await bareLaunch());
  }
} finally {
  await stack('-p', name, 'down', '--progress', 'quiet').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  removeStateDir(state);
}
const [cli, cliP, fn, node, launch] = [median(rows.cli), median(rows.cliP), median(rows.fn), median(rows.node), median(rows.launch)];
const floor = node + launch;
console.log(`stack restart of one node http server; median of ${ROUNDS} rounds`);
console.log(`floor: node -e 0 ${ms(node)} + bare launch ${ms(launch)} = ${ms(floor)}`);
console.log(`stack restart web (CLI)     ${ms(cli).padStart(10)}  ${(cli / floor).toFixed(1)}x floor`);
console.log(`stack -p NAME restart web   ${ms(cliP).padStart(10)}  ${(cliP / floor).toFixed(1)}x floor (no spec loaded)`);
emitRow('restart', 'restart web (CLI)', cli, floor, 2, 'node -e 0 + bare unshare launch');
emitRow('restart', 'restart -p web (CLI)', cliP, floor, 2, 'node -e 0 + bare unshare launch');
emitRow('restart', 'restartServices()', fn, launch, null, 'bare unshare launch');
console.log(`restartServices() (watch)   ${ms(fn).padStart(10)}  ${(fn / launch).toFixed(1)}x bare launch`);

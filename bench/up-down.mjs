// `stack up -d` and `stack down` of 1, 10 and 50 trivial services (`sleep 3600`), through the
// real CLI, against N bare launches of `unshare --pid --fork --mount --uts --ipc --net sleep`
// measured in the same run (started concurrently, up = until every `sleep` runs, down = until
// every one is killed and reaped). Ratios printed per N. The CLI's own start (Node plus loading
// the spec) is in stack's numbers: it is what a user waits for.
// Run after `npm run build`, as root: node bench/up-down.mjs [rounds] [sizes, e.g. 1,10,50]
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median, ms } from './_stats.mjs';
import { emitRow } from './_row.mjs';
import { removeStateDir, stateDir } from './_state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/stack.cjs');
if (!existsSync(join(root, 'dist/cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/up-down.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/up-down.mjs: needs root (namespaces, cgroups, links)');
  process.exit(1);
}
const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 3);
const SIZES = (process.argv[3] ?? '1,10,50').split(',').map(Number);

/** Runs the CLI; resolves with its wall time in ms (exit 0 required). */
function stack(dir, env, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(bin, [...args], { cwd: dir, env }, (error, _out, stderr) => {
      if (error) reject(new Error(`stack ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

/** The children of `pid` (from /proc), empty when it has none yet. */
function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** N concurrent bare `unshare … sleep 3600`: ms until every sleep runs, then ms until all are gone. */
async function bare(n) {
  const t0 = performance.now();
  const procs = Array.from({ length: n }, () =>
    spawn('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--net', 'sleep', '3600'], { stdio: 'ignore' }),
  );
  const exited = procs.map((p) => new Promise((resolve) => p.once('exit', resolve)));
  for (;;) {
    if (procs.every((p) => p.pid !== undefined && children(p.pid).some((c) => comm(c) === 'sleep'))) break;
    await sleep(0.2);
  }
  const up = performance.now() - t0;
  const t1 = performance.now();
  for (const p of procs) {
    for (const c of children(p.pid)) {
      try {
        process.kill(c, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    p.kill('SIGKILL');
  }
  await Promise.all(exited);
  return { up, down: performance.now() - t1 };
}

function spec(name, n) {
  const services = Array.from({ length: n }, (_, i) => `  s${i}:\n    command: sleep 3600\n`).join('');
  return `name: ${name}\nservices:\n${services}`;
}

console.log(`stack up -d / stack down of N services (sleep 3600) vs N bare unshare launches; median of ${ROUNDS} rounds`);
console.log('N    stack up    bare up     ratio   stack down  bare down   ratio');
for (const n of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), 'stack-bench-updown-'));
  const name = `bench${randomBytes(4).toString('hex')}`;
  const state = stateDir('updown');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  writeFileSync(join(dir, 'stack.yaml'), spec(name, n));
  const rows = { up: [], down: [], bareUp: [], bareDown: [] };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      rows.up.push(await stack(dir, env, ['up', '-d', '--progress', 'quiet']));
      rows.down.push(await stack(dir, env, ['down', '--progress', 'quiet']));
      const b = await bare(n);
      rows.bareUp.push(b.up);
      rows.bareDown.push(b.down);
    }
  } finally {
    await stack(dir, env, ['-p', name, 'down', '--progress', 'quiet']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    removeStateDir(state);
  }
  const [up, down, bu, bd] = [median(rows.up), median(rows.down), median(rows.bareUp), median(rows.bareDown)];
  emitRow('up-down', `up -d ${n}`, up, bu, null, `${n} bare unshare launches`);
  emitRow('up-down', `down ${n}`, down, bd, null, `${n} bare unshare kills`);
  console.log(
    `${String(n).padEnd(4)} ${ms(up).padStart(10)}  ${ms(bu).padStart(10)}  ${(up / bu).toFixed(1).padStart(5)}x  ${ms(down).padStart(10)}  ${ms(bd).padStart(10)}  ${(down / bd).toFixed(1).padStart(5)}x`,
  );
}

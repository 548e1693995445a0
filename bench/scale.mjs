// Issue 11 at scale: N trivial services (`sleep 3600`) on one host, N = 20 and 200 by default.
// Per size: `up -d`, a no-op `up -d`, `ps` and `down` through the real CLI, each as a total and
// per service (total / N); the growth ratio is the per-service cost at the largest size over the
// smallest (linear growth = 1). While the project is up and nothing changes: the supervisor's
// CPU (its threads' schedstat over IDLE seconds, from 20 s after the last command) and memory —
// supervisor RSS and Pss, each monitor's private memory (Private_Clean + Private_Dirty from
// smaps_rollup: RSS counts the shared libc pages) and Pss, median over the services.
// Run after `npm run build`, as root: node bench/scale.mjs [sizes, default 20,200] [idle s, default 30] [rounds, default
// BENCH_ROUNDS or 2]
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median } from './_stats.mjs';
import { removeStateDir, stateDir } from './_state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/stack.cjs');
if (!existsSync(join(root, 'dist/cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/scale.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/scale.mjs: needs root (namespaces, cgroups, links)');
  process.exit(1);
}
const SIZES = (process.argv[2] ?? '20,200').split(',').map(Number);
const IDLE_S = Number(process.argv[3] ?? 30);
const ROUNDS = Number(process.argv[4] ?? process.env.BENCH_ROUNDS ?? 2);
const MONITOR_LIMIT_KIB = 300;
const SUPERVISOR_LIMIT_KIB = 60 * 1024;

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** The kernel limits 200 services meet, as read here. */
function limits() {
  const first = (path) => read(path).trim() || '?';
  return [
    `inotify max_user_instances ${first('/proc/sys/fs/inotify/max_user_instances')}, max_user_watches ${first('/proc/sys/fs/inotify/max_user_watches')}`,
    `pid_max ${first('/proc/sys/kernel/pid_max')}, threads-max ${first('/proc/sys/kernel/threads-max')}, file-max ${first('/proc/sys/fs/file-max')}`,
    `this shell's open-file limit ${read('/proc/self/limits').match(/Max open files\s+(\d+)/)?.[1] ?? '?'}; a Linux bridge takes 1024 ports (BR_MAX_PORTS)`,
  ].join('\n  ');
}

function stack(dir, env, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(bin, [...args], { cwd: dir, env, maxBuffer: 64 << 20 }, (error, _out, stderr) => {
      if (error) reject(new Error(`stack ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

/**
 * The CPU time of `pid`'s threads in ms, from their schedstat (nanoseconds on a CPU: /proc/PID/stat
 * counts in 1/100 s, too coarse for an idle supervisor's ~10 ms in 10 s).
 */
function cpuMs(pid) {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = read(`/proc/${pid}/task/${task}/schedstat`);
    if (text === '') throw new Error(`no /proc/${pid}/task/${task}/schedstat (a kernel without CONFIG_SCHED_INFO?)`);
    ns += Number(text.split(' ')[0]);
  }
  return ns / 1e6;
}

/** `{private, pss, rss}` in KiB from /proc/<pid>/smaps_rollup. */
function memory(pid) {
  const text = read(`/proc/${pid}/smaps_rollup`);
  const kib = (key) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { private: kib('Private_Clean') + kib('Private_Dirty'), pss: kib('Pss'), rss: kib('Rss') };
}

/** The supervisor's pid (from its pid file) and every service's monitor pid (from the records). */
function pids(state, project) {
  const run = join(state, 'run', project);
  const supervisor = JSON.parse(read(join(run, 'supervisor/pid.json')) || '{}').pid;
  const monitors = readdirSync(join(run, 'services'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(read(join(run, 'services', f)) || '{}').monitor?.pid)
    .filter(Boolean);
  return { supervisor, monitors };
}

function spec(name, n) {
  return `name: ${name}\nservices:\n${Array.from({ length: n }, (_, i) => `  s${i}:\n    command: sleep 3600\n`).join('')}`;
}

const row = (r) => console.log(`@row ${JSON.stringify({ bench: 'scale', ...r })}`);
const f1 = (x) => x.toFixed(1);

console.log(`scale: N services (sleep 3600) on one host, N = ${SIZES.join(', ')}; ${ROUNDS} round(s); idle window ${IDLE_S} s; load ${load()}`);
console.log(`kernel limits:\n  ${limits()}`);
const results = new Map();
for (const n of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), 'stack-bench-scale-'));
  const name = `scale${randomBytes(4).toString('hex')}`;
  const state = stateDir('scale');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  writeFileSync(join(dir, 'stack.yaml'), spec(name, n));
  const t = { up: [], noop: [], ps: [], down: [] };
  let idle;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      t.up.push(await stack(dir, env, ['up', '-d', '--progress', 'quiet']));
      for (let k = 0; k < 3; k++) {
        t.noop.push(await stack(dir, env, ['up', '-d', '--progress', 'quiet']));
        t.ps.push(await stack(dir, env, ['ps']));
      }
      if (r === 0) {
        // Settled: past what the supervisor does once after a change (20 services, its main
        // thread's CPU in 5 s windows from the `up`: 97.8, 5.4, 24.5 ms, then 4.7-6.8 for a
        // minute): its ticks every 100 ms while the change is recent, its full collection 3 s
        // after it (supervisor.ts COMPACT_AFTER_MS), then one of V8's own.
        await sleep(20_000);
        const { supervisor, monitors } = pids(state, name);
        const c0 = cpuMs(supervisor);
        const w0 = performance.now();
        await sleep(IDLE_S * 1000);
        const cpu = cpuMs(supervisor) - c0;
        const wall = performance.now() - w0;
        const mons = monitors.map(memory).filter((m) => !Number.isNaN(m.private));
        idle = {
          cpu,
          wall,
          supervisor: memory(supervisor),
          fds: readdirSync(`/proc/${supervisor}/fd`).length,
          threads: Number(read(`/proc/${supervisor}/status`).match(/^Threads:\s+(\d+)/m)?.[1]),
          monitorPrivate: median(mons.map((m) => m.private)),
          monitorPss: median(mons.map((m) => m.pss)),
          monitorRss: median(mons.map((m) => m.rss)),
          monitors: mons.length,
          load: load(),
        };
      }
      t.down.push(await stack(dir, env, ['down', '--progress', 'quiet']));
    }
  } finally {
    await stack(dir, env, ['-p', name, 'down', '--progress', 'quiet']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    removeStateDir(state);
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  results.set(n, m);
  console.log(`\nN=${n} (load ${load()})`);
  for (const [k, label] of [['up', 'up -d'], ['noop', 'no-op up -d'], ['ps', 'ps'], ['down', 'down']]) {
    console.log(`  ${label.padEnd(12)} ${f1(m[k]).padStart(9)} ms total  ${(m[k] / n).toFixed(2).padStart(8)} ms/service`);
  }
  console.log(
    `  supervisor idle: ${f1(idle.cpu)} ms CPU in ${f1(idle.wall / 1000)} s (${((idle.cpu / idle.wall) * 100).toFixed(2)} % of a core); ` +
      `RSS ${idle.supervisor.rss} KiB, Pss ${idle.supervisor.pss} KiB, private ${idle.supervisor.private} KiB; ${idle.fds} fds, ${idle.threads} threads (load ${idle.load})`,
  );
  console.log(`  monitor (median of ${idle.monitors}): private ${idle.monitorPrivate} KiB, Pss ${idle.monitorPss} KiB, RSS ${idle.monitorRss} KiB`);
  row({ row: `supervisor idle cpu ${n}`, ours_ms: +f1(idle.cpu), floor_ms: +f1(idle.wall), ratio: +(idle.cpu / idle.wall).toFixed(4), target: null, floor: `wall time of the idle window (ratio = share of a core)` });
  row({ row: `monitor private ${n}`, ours_kib: idle.monitorPrivate, limit_kib: MONITOR_LIMIT_KIB, ratio: +(idle.monitorPrivate / MONITOR_LIMIT_KIB).toFixed(2), target: 1, floor: 'issue 11 limit (median over the monitors, Private_* of smaps_rollup)' });
  row({ row: `supervisor rss ${n}`, ours_kib: idle.supervisor.rss, limit_kib: SUPERVISOR_LIMIT_KIB, ratio: +(idle.supervisor.rss / SUPERVISOR_LIMIT_KIB).toFixed(2), target: 1, floor: 'issue 11 limit (60 MiB)' });
}

const [small, large] = [Math.min(...SIZES), Math.max(...SIZES)];
if (small !== large) {
  console.log(`\ngrowth: per-service cost at ${large} / at ${small} (linear = 1)`);
  const a = results.get(small);
  const b = results.get(large);
  for (const [k, label] of [['up', 'up -d'], ['noop', 'no-op up -d'], ['ps', 'ps'], ['down', 'down']]) {
    const per = [a[k] / small, b[k] / large];
    const ratio = per[1] / per[0];
    console.log(`  ${label.padEnd(12)} ${per[0].toFixed(2).padStart(8)} → ${per[1].toFixed(2).padStart(8)} ms/service  ×${ratio.toFixed(2)}`);
    row({ row: `${label} per service ${large}/${small}`, ours_ms: +per[1].toFixed(2), floor_ms: +per[0].toFixed(2), ratio: +ratio.toFixed(2), target: 1.5, floor: `per-service cost at ${small} services (same run)` });
  }
}

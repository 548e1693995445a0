// Launch cost (issue 4): how long until a service's program runs, against bare
// `unshare --pid --fork --mount --uts --ipc --net true` measured in the same run.
// Run after `npm run build`, as root: node bench/launch.mjs [iterations]
//
// Rows, each the median of N runs, interleaved so drift hits every row alike:
//   unshare      spawn of util-linux unshare with those namespaces, to its exit
//   launcher     spawn of native/build/launcher (same namespaces, joins memory/pids/cpu/
//                cpuacct/freezer cgroups, sets identity and caps, logs, writes its exit
//                record), to the monitor's exit
//   no cgroups   the same launcher joining no cgroup: what the five v1 cgroup.procs writes cost
//   launcher²    the launcher row again, measured after a launcher (see the comment in rows)
//   seccomp      the launcher row plus the default seccomp filter's rules, built and loaded
//                by libseccomp in the workload (what the launcher and the exec helper do when the
//                compiler cannot run)
//   seccomp bpf  the launcher row plus the same filter compiled beforehand (seccomp/compile.ts,
//                once per process), loaded as is: what launch() sends
//   launch()     the TypeScript API, from the call to its answer: the workload has exec'd
//                (under the default seccomp filter, as every service). Its launcher is
//                prepared 60 ms before (prepareLauncher), as `up` and `restart` prepare theirs:
//                spawned and placed in the monitor group. A launcher spawned by the call itself
//                would wait there for an RCU grace period (its cgroup.procs write on the unified
//                or a v2 hierarchy) unless a move ended within the last one, which made the row
//                depend on the rows before it (4.0 ms while their workloads joined through
//                cgroup.procs, 11.1 once they joined through v1's tasks).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { emitRow } from './_row.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('runtime/launch.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/launch.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/launch.mjs: needs root (namespaces, cgroups)');
  process.exit(1);
}
const { launch } = await import(dist('runtime/launch.js'));
const { LAUNCHER_PATH } = await import(dist('runtime/launcher-path.js'));
const { encodeLaunchRequest } = await import(dist('runtime/launcher-config.js'));
const { openCgroups, prepareLauncher, removeMonitorGroup } = await import(dist('runtime/index.js'));
const { DEFAULT_CAPABILITIES } = await import(dist('runtime/caps.js'));
const { compiledSeccompPairs, serviceSeccomp, seccompRequestPairs } = await import(dist('runtime/seccomp/index.js'));

const N = Number(process.argv[2] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'stack-bench-launch-'));
const project = `bench${randomBytes(4).toString('hex')}`;
const cgroups = await openCgroups();
const group = await cgroups.create(project, 'svc', {});

/** Spawns `cmd` with `input` on its stdin; resolves with the ms until it exits (code 0 required). */
function timed(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'inherit'] });
    if (input) child.stdin.end(input);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

const service = {
  name: 'svc', entrypoint: null, command: ['true'], environment: {}, hostname: 'svc', ports: [], expose: [],
  volumes: [], networks: {}, extraHosts: [], dependsOn: {}, healthcheck: null, restart: { kind: 'no' },
  stopSignal: 'SIGTERM', stopGracePeriodMs: 10000, init: false, readOnly: false, capAdd: [], capDrop: [],
  limits: {}, develop: null, profiles: [], labels: {},
};
let i = 0;
const paths = () => ({ logPath: join(dir, `l${++i}.log`), exitPath: join(dir, `l${i}.exit`) });
const filter = serviceSeccomp({}, DEFAULT_CAPABILITIES);
const compiled = await compiledSeccompPairs(filter);
if (compiled[0]?.[0] !== 'seccomp_bpf') throw new Error('bench/launch.mjs: native/build/seccomp did not compile the filter');
const request = (dirs, extra = []) => {
  const p = paths();
  return encodeLaunchRequest([
    ['name', 'svc'], ['log', p.logPath], ['exit', p.exitPath], ['hostname', 'svc'], ['cwd', '/'], ['uid', '0'],
    ['gid', '0'], ['caps', 'a80425fb'], ['netns', 'new'], ...dirs.map((d) => ['cgroup', d]), ...extra, ['arg', 'true'],
  ]);
};

const rows = {
  unshare: () => timed('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--net', 'true']),
  launcher: () => timed(LAUNCHER_PATH, [], request(group.dirs)),
  'no cgroups': () => timed(LAUNCHER_PATH, [], request([])),
  // The launch right after `unshare` pays ~8 ms for the kernel's teardown of unshare's netns
  // (measured: whichever row comes second pays it), so the filter's rows are compared with this
  // second launcher row, which comes after a launcher as they do.
  'launcher²': () => timed(LAUNCHER_PATH, [], request(group.dirs)),
  'seccomp bpf': () => timed(LAUNCHER_PATH, [], request(group.dirs, compiled)),
  'launch()': async () => {
    const p = paths();
    prepareLauncher(project, service.name);
    await sleep(60);
    const t0 = performance.now();
    await launch({ service, cgroup: group, netns: 'new', ...p });
    const ms = performance.now() - t0;
    while (!existsSync(p.exitPath)) await sleep(1);
    return ms;
  },
  seccomp: () => timed(LAUNCHER_PATH, [], request(group.dirs, seccompRequestPairs(filter))),
};
const samples = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
try {
  for (const run of Object.values(rows)) await run(); // warm caches
  for (let n = 0; n < N; n++) for (const [name, run] of Object.entries(rows)) samples[name].push(await run());
} finally {
  await group.destroy();
  await removeMonitorGroup(project); // launch() puts each launcher there (the monitors' own group)
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(samples.unshare);
console.log(`launch cost, median of ${N} runs (kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}):`);
for (const [name, xs] of Object.entries(samples)) {
  console.log(`  ${name.padEnd(11)} ${median(xs).toFixed(2).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}× unshare`);
}
emitRow('launch', 'launcher', median(samples.launcher), base, null, 'unshare --pid --fork --mount --uts --ipc --net true');
emitRow('launch', 'launch()', median(samples['launch()']), base, null, 'unshare --pid --fork --mount --uts --ipc --net true');
const cost = (row) => median(samples[row]) - median(samples['launcher²']);
const insns = compiled[0][1].length / 16;
console.log(`  seccomp filter, ${filter.rules.length} rules on ${filter.arches.join(', ')} (${insns} BPF instructions):`);
console.log(`    built and loaded (no compiler):   +${cost('seccomp').toFixed(2)} ms, +${(cost('seccomp') / base).toFixed(2)}× unshare on the launch floor`);
console.log(`    compiled beforehand (launches):   +${cost('seccomp bpf').toFixed(2)} ms, +${(cost('seccomp bpf') / base).toFixed(2)}× unshare on the launch floor`);

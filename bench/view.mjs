// What the service's own filesystem view (native/launcher/view.h) adds to a launch.
// Run after `npm run build`, as root: node bench/view.mjs [iterations]
//
// Rows, each the median of N runs of native/build/launcher to its monitor's exit (a new
// netns, no cgroups, `true` as the workload), interleaved so drift hits every row alike:
//   host root     no view: the service sees the host's root (cgroupfs read-only, own /proc)
//   view          the built root: tmpfs, read-only binds of the host's folders, /dev, /sys,
//                 /proc with its masks, /tmp /run /var/tmp, the three /etc files
//   view+volumes  the same with a bind, a read-only bind, a tmpfs and a target that needs an
//                 overlay of a host folder (/var/lib/<new>/data)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitRow } from './_row.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const launcher = join(root, 'native/build/launcher');
if (!existsSync(join(root, 'dist/runtime/launcher-config.js')) || !existsSync(launcher)) {
  console.error('bench/view.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/view.mjs: needs root (namespaces, mounts)');
  process.exit(1);
}
const { encodeLaunchRequest } = await import(join(root, 'dist/runtime/launcher-config.js'));

const N = Number(process.argv[2] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'stack-bench-view-'));
const etc = ['hosts', 'hostname', 'resolv.conf'].map((f) => {
  writeFileSync(join(dir, f), `${f}\n`);
  return join(dir, f);
});
const data = join(dir, 'data');
mkdirSync(data);

let i = 0;
function request(extra) {
  i++;
  return encodeLaunchRequest([
    ['name', 'svc'], ['log', join(dir, `${i}.log`)], ['exit', join(dir, `${i}.exit`)], ['hostname', 'svc'], ['cwd', '/'],
    ['uid', '0'], ['gid', '0'], ['caps', 'a80425fb'], ['netns', 'new'], ...extra, ['arg', 'true'],
  ]);
}

/** Runs the launcher with `input`; resolves with the ms until it exits (code 0 required). */
function timed(input) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(launcher, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let answer = '';
    child.stdout.on('data', (d) => (answer += d));
    child.stdin.end(input);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`launcher exited ${code}: ${answer}`))));
  });
}

const view = [['view', '1'], ['etc_hosts', etc[0]], ['etc_hostname', etc[1]], ['etc_resolv_conf', etc[2]]];
const volumes = [
  ['mount', 'bind'], ['mount_source', data], ['mount_target', '/app'],
  ['mount', 'bind'], ['mount_source', data], ['mount_target', '/config'], ['mount_read_only', '1'],
  ['mount', 'tmpfs'], ['mount_target', '/cache'], ['mount_size', '1048576'], ['mount_mode', '1777'],
  ['mount', 'bind'], ['mount_source', data], ['mount_target', '/var/lib/stack-bench-view/data'],
];
const rows = {
  'host root': () => timed(request([])),
  view: () => timed(request(view)),
  'view+volumes': () => timed(request([...view, ...volumes])),
};
const samples = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
try {
  for (const run of Object.values(rows)) await run(); // warm caches
  for (let n = 0; n < N; n++) for (const [name, run] of Object.entries(rows)) samples[name].push(await run());
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(samples['host root']);
console.log(`filesystem view cost, median of ${N} launcher runs (kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}):`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`  ${name.padEnd(13)} ${m.toFixed(2).padStart(7)} ms   +${(m - base).toFixed(2)} ms`);
  if (name !== 'host root') emitRow('view', `launch, ${name}`, m, base, null, 'launch with the host root');
}

// Issue 11's endurance proof: COUNT `stack up -d` / `stack down` cycles of a 5-service project
// (`sleep 3600`), through the real CLI. After the loop: no leaked kernel object of the project
// (netns `stk-<project>.…`, its bridge and veths `stk…`, cgroups under `stack/<project>` and
// `stack.monitors/<project>` in every hierarchy, mounts naming its state folder or netns, nft
// table `stack_<project>`, processes whose command line names its state folder), no supervisor
// left (none runs after down), and this node process's own fd count unchanged. Speed: median
// cycle time of cycles 5–15 against the median of the last 11 cycles, and their ratio (1 = the
// 1000th cycle as fast as the 10th). The machine is shared: each cycle also times `node -e 0`
// (the CLI floor) as a load probe, and the same ratio is printed over cycle / probe too.
// The CLI runs from a frozen copy of dist/, bin/ and native/build/ (other sessions rebuild the
// checkout while a long run goes on; the code under test must not change mid-run).
// Run after `npm run build`, as root: node bench/cycles.mjs [count, default 50] (the documented
// proof is `node bench/cycles.mjs 1000`, about 30 minutes here).
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { median } from './_stats.mjs';
import { cliFloorEnv } from './_row.mjs';
import { removeStateDir, stateDir as newStateDir } from './_state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist/cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/cycles.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/cycles.mjs: needs root (namespaces, cgroups, links)');
  process.exit(1);
}
const COUNT = Number(process.argv[2] ?? 50);
const SERVICES = 5;
if (!Number.isInteger(COUNT) || COUNT < 30) {
  console.error('bench/cycles.mjs: count must be an integer ≥ 30 (cycles 5–15 and the last 11 are compared)');
  process.exit(1);
}

const { netnsPrefix, bridgeName, vethHostName, nftTableName, cgroupPath, MONITOR_CGROUP_DIR } = await import(join(root, 'dist/names.js'));
const { parseCgroupMounts } = await import(join(root, 'dist/runtime/cgroup/detect.js'));

/** A copy of what the CLI runs (dist, bin, native/build, package.json; node_modules linked). */
function frozenCopy(dir) {
  for (const part of ['dist', 'bin', 'native/build', 'package.json']) cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'bin/stack.cjs');
}

function stack(bin, dir, env, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(bin, [...args], { cwd: dir, env }, (error, _out, stderr) => {
      if (error) reject(new Error(`stack ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

/** This process's open fds, each as `fd -> target`. */
const openFds = () =>
  readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return fd; // the directory's own fd, gone once read
    }
  });

/** Every cgroup hierarchy root mounted here (v1 controllers and the unified one). */
function cgroupRoots() {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  return [...new Set([...mounts.v1.values(), ...(mounts.unified ? [mounts.unified] : [])])];
}

/** What of `project` is left in the kernel and in /proc: a list of descriptions, empty when nothing. */
function leftovers(project, services, stateDir) {
  const left = [];
  const prefix = netnsPrefix(project);
  for (const ns of existsSync('/run/netns') ? readdirSync('/run/netns') : []) if (ns.startsWith(prefix)) left.push(`netns ${ns}`);
  const links = new Set(
    execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) // ip warns of peers in netns others remove meanwhile
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0])
      .filter(Boolean),
  );
  for (const name of [bridgeName(project, 'default'), ...services.map((s) => vethHostName(project, s, 'default'))]) if (links.has(name)) left.push(`link ${name}`);
  for (const r of cgroupRoots()) {
    for (const rel of [cgroupPath(project), `${MONITOR_CGROUP_DIR}/${project}`]) if (existsSync(join(r, rel))) left.push(`cgroup ${join(r, rel)}`);
  }
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) if (line.includes(stateDir) || line.includes(prefix)) left.push(`mount ${line.split(' ')[4]}`);
  let tables = '';
  try {
    tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  } catch {
    // no nft here: nothing to leak
  }
  if (tables.split('\n').some((l) => l.trim().split(/\s+/)[2] === nftTableName(project))) left.push(`nft table ${nftTableName(project)}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (Number(pid) === process.pid) continue;
    if (cmd.includes(stateDir)) left.push(`process ${pid} ${cmd.replaceAll('\0', ' ').trim()}`);
  }
  return left;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const dir = mkdtempSync(join(tmpdir(), 'stack-bench-cycles-'));
const bin = frozenCopy(join(dir, 'build'));
const project = `cycles${randomBytes(4).toString('hex')}`;
const services = Array.from({ length: SERVICES }, (_, i) => `s${i}`);
const stateDir = newStateDir('cycles');
const env = { ...process.env, STACK_ROOT: stateDir, STACK_IP_FORWARD: 'leave' };
mkdirSync(join(dir, 'project'));
writeFileSync(join(dir, 'project/stack.yaml'), `name: ${project}\nservices:\n${services.map((s) => `  ${s}:\n    command: sleep 3600\n`).join('')}`);
const cwd = join(dir, 'project');

console.log(`${COUNT} cycles of stack up -d / stack down, ${SERVICES} services (sleep 3600); load ${load()}`);
// SIGTERM or SIGINT ends the loop after the cycle under way, and the figures of the cycles made are printed.
let stopAsked = false;
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => (stopAsked = true));
// Counted after cycle 1: Node opens some fds once, lazily (/dev/null at its first child with
// ignored stdio), which are no leak.
let fdsBefore = [];
const cycles = [];
const probes = [];
const probe = () =>
  new Promise((resolve) => {
    const t0 = performance.now();
    execFile(process.execPath, ['-e', '0'], { env: cliFloorEnv() }, () => resolve(performance.now() - t0));
  });
const started = performance.now();
let failure;
try {
  for (let i = 1; i <= COUNT && !stopAsked; i++) {
    const up = await stack(bin, cwd, env, ['up', '-d', '--progress', 'quiet']);
    if (i === 1) {
      // The detector sees what a live project has (else "none leaked" would prove nothing).
      const live = leftovers(project, services, stateDir);
      const kinds = [...new Set(live.map((l) => l.split(' ')[0]))].sort();
      console.log(`  while up, the leak check sees ${live.length} objects (${kinds.join(', ')})`);
      if (!['cgroup', 'link', 'netns', 'process'].every((k) => kinds.includes(k))) throw new Error('the leak check does not see a live project');
    }
    const down = await stack(bin, cwd, env, ['down', '--progress', 'quiet']);
    if (i === 1) fdsBefore = openFds();
    cycles.push(up + down);
    probes.push(await probe());
    if (i % 50 === 0 || i === COUNT || stopAsked) {
      console.log(`  cycle ${i}: ${(up + down).toFixed(0)} ms (up ${up.toFixed(0)}, down ${down.toFixed(0)}), ${((performance.now() - started) / 1000).toFixed(0)} s so far, load ${load()}`);
    }
  }
} catch (e) {
  failure = e;
} finally {
  const total = (performance.now() - started) / 1000;
  // Gone after down already when nothing leaked; what this checks is the loop's state.
  const left = leftovers(project, services, stateDir);
  const fdsAfter = openFds();
  const newFds = fdsAfter.filter((fd) => !fdsBefore.includes(fd) && fd.includes(' -> '));
  await stack(bin, cwd, env, ['-p', project, 'down', '--progress', 'quiet']).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  removeStateDir(stateDir);
  if (failure) {
    console.error(`cycle ${cycles.length + 1} failed: ${failure.message}`);
    process.exitCode = 1;
  }
  if (cycles.length >= 30) {
    const early = median(cycles.slice(4, 15));
    const late = median(cycles.slice(-11));
    console.log(`${cycles.length} cycles${stopAsked ? ` (stopped early, of ${COUNT})` : ''} in ${total.toFixed(0)} s (load ${load()})`);
    console.log(`cycle time: cycles 5–15 median ${early.toFixed(1)} ms, last 11 median ${late.toFixed(1)} ms, ratio ${(late / early).toFixed(2)}`);
    const relative = cycles.map((c, i) => c / probes[i]);
    const [earlyRel, lateRel] = [median(relative.slice(4, 15)), median(relative.slice(-11))];
    console.log(`over the load probe (cycle / node -e 0 right after it): early ${earlyRel.toFixed(1)}, late ${lateRel.toFixed(1)}, ratio ${(lateRel / earlyRel).toFixed(2)}`);
    console.log(`leaked kernel objects and processes: ${left.length === 0 ? 'none' : `\n    ${left.join('\n    ')}`}`);
    console.log(`bench's own fds: ${fdsBefore.length} after cycle 1, ${fdsAfter.length} after the loop${newFds.length ? `; new: ${newFds.join(', ')}` : ''}`);
    const row = (r) => console.log(`@row ${JSON.stringify({ bench: 'cycles', ...r })}`);
    row({ row: `cycle ${cycles.length} vs 10`, ours_ms: +late.toFixed(1), floor_ms: +early.toFixed(1), ratio: +(late / early).toFixed(2), target: 1.2, floor: 'median cycle time of cycles 5-15 (same run)' });
    row({ row: `cycle ${cycles.length} vs 10 over node -e 0`, ours_ms: +lateRel.toFixed(2), floor_ms: +earlyRel.toFixed(2), ratio: +(lateRel / earlyRel).toFixed(2), target: 1.2, floor: 'cycles 5-15, each cycle over a node -e 0 timed right after it (load-normalised)' });
    row({ row: 'leaked objects', ours_ms: left.length, floor_ms: 0, ratio: left.length, target: 0, floor: 'nothing left after the loop (count of leaked objects)' });
    row({ row: 'leaked bench fds', ours_ms: newFds.length, floor_ms: 0, ratio: newFds.length, target: 0, floor: 'fds of the bench process after cycle 1 (count of new ones)' });
    if (left.length > 0 || newFds.length > 0) process.exitCode = 1;
  }
}

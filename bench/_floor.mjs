// The scripted floor of issue 11: the kernel objects of N services made by the most direct
// means, as a shell script by hand would, and taken down again. Up: ONE `ip -batch` (N netns, a
// bridge with its address, N veth pairs with the peer made inside each netns, links up) and,
// at the same time, `mkdir` + the limit writes stack makes (memory, pids, cpu: v1LimitWrites /
// v2LimitWrites from dist/) for N cgroups; then inside each netns its address, lo and eth0 up
// and the default route (`ip -n NS -batch -`, in parallel: ip's batch mode cannot switch netns
// per line, `-n` in a batch line is refused); then N `sh -c 'echo $$ > cgroup.procs …; exec
// nsenter --net=/run/netns/NS unshare --pid --fork --mount --uts --ipc sleep 3600'` launches, in
// parallel, or one after another in order for a depends_on chain (each once its `sleep` runs).
// Down: kill by cgroup (cgroup.kill on v2, SIGKILL to each pid in cgroup.procs on v1), wait
// until reaped, rmdir the cgroups, one `ip -batch` of deletes (the host links by their link
// group in one request, then the netns).
// Names follow the naming contract (dist/names.js: netns `stk-…`, links `stk…`, cgroups under
// `stack/`) with a random project name, so the leak checks recognise anything left behind.
// Needs root and `npm run build`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { netnsName, bridgeName, vethHostName, cgroupPath, CGROUP_DIR } = await import(join(root, 'dist/names.js'));
const { parseCgroupMounts } = await import(join(root, 'dist/runtime/cgroup/detect.js'));
const { v1LimitWrites, v2LimitWrites } = await import(join(root, 'dist/runtime/cgroup/limits.js'));
const { V1_CONTROLLERS } = await import(join(root, 'dist/runtime/cgroup/v1.js'));

const V2_CONTROLLERS = ['memory', 'pids', 'cpu'];
const NS_FLAGS = ['--pid', '--fork', '--mount', '--uts', '--ipc'];

/** The hierarchy stack would drive here, as detect.ts decides it (v2 only when it offers memory, pids and cpu). */
function cgroupLayout() {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (mounts.unified !== undefined) {
    const have = readFileSync(join(mounts.unified, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (V2_CONTROLLERS.every((c) => have.includes(c))) return { version: 2, root: mounts.unified };
  }
  const roots = V1_CONTROLLERS.map((c) => mounts.v1.get(c));
  if (roots.some((r) => r === undefined)) throw new Error('bench/_floor.mjs: no usable cgroup hierarchy');
  return { version: 1, roots: [...new Set(roots)], memory: mounts.v1.get('memory'), byController: mounts.v1 };
}
const layout = cgroupLayout();

/** Runs `cmd args` with `input` on stdin; resolves when it exits 0 (rejects with its stderr otherwise). */
function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    if (input !== undefined) child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/** The children of `pid` (from /proc). */
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

/** The dirs of one cgroup (one per v1 hierarchy, one on v2) and its cgroup.procs files. */
function groupDirs(rel) {
  return layout.version === 2 ? [join(layout.root, rel)] : layout.roots.map((r) => join(r, rel));
}

/** mkdir of service `i`'s cgroup (and its parents) plus the limit writes stack makes for no limits. */
function makeCgroup(project, service) {
  if (layout.version === 2) {
    const enable = (dir) => {
      const on = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
      for (const c of V2_CONTROLLERS) if (!on.includes(c)) writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
    };
    let dir = layout.root;
    enable(dir);
    for (const part of [CGROUP_DIR, project]) {
      dir = join(dir, part);
      mkdirSync(dir, { recursive: true });
      enable(dir);
    }
    const leaf = join(layout.root, cgroupPath(project, service));
    mkdirSync(leaf);
    const swap = existsSync(join(leaf, 'memory.swap.max'));
    for (const w of v2LimitWrites({}, { swap })) writeFileSync(join(leaf, w.file), w.value);
    return;
  }
  const rel = cgroupPath(project, service);
  for (const dir of groupDirs(rel)) mkdirSync(dir, { recursive: true });
  const memsw = existsSync(join(layout.memory, rel, 'memory.memsw.limit_in_bytes'));
  for (const w of v1LimitWrites({}, { memsw })) writeFileSync(join(layout.byController.get(w.controller), rel, w.file), w.value);
}

/**
 * Scripted up of `n` services (`sleep 3600`); with `chain` the launches run one after another
 * (a depends_on chain s0 <- s1 <- …). Resolves { ms, handle }: ms until every workload runs.
 */
export async function scriptedUp(n, { chain = false } = {}) {
  if (n > 250) throw new Error('bench/_floor.mjs: at most 250 services (one /24)');
  const project = `floor${randomBytes(4).toString('hex')}`;
  const subnet = `198.18.${randomInt(0, 256)}`; // RFC 2544's benchmarking range: no route of anyone's
  const services = Array.from({ length: n }, (_, i) => {
    const name = `s${i}`;
    return { name, netns: netnsName(project, name), veth: vethHostName(project, name, 'default'), cgroup: cgroupPath(project, name), ip: `${subnet}.${i + 2}` };
  });
  // Every host link in one link group, so teardown deletes them all in one request (stack does too).
  const group = randomInt(1 << 20, 1 << 30);
  const handle = { project, bridge: bridgeName(project, 'default'), group, services, subnet, procs: new Map(), made: false };
  const t0 = performance.now();
  try {
    handle.made = true;
    const batch = [
      ...services.map((s) => `netns add ${s.netns}`),
      `link add ${handle.bridge} group ${group} type bridge`,
      `addr add ${subnet}.1/24 dev ${handle.bridge}`,
      `link set ${handle.bridge} up`,
      ...services.flatMap((s) => [`link add ${s.veth} group ${group} type veth peer name eth0 netns ${s.netns}`, `link set ${s.veth} master ${handle.bridge} up`]),
    ].join('\n');
    const host = run('ip', ['-batch', '-'], `${batch}\n`);
    // The cgroups while ip works: nothing orders the two.
    for (const s of services) makeCgroup(project, s.name);
    await host;
    await Promise.all(
      services.map((s) =>
        run('ip', ['-n', s.netns, '-batch', '-'], `link set lo up\naddr add ${s.ip}/24 dev eth0\nlink set eth0 up\nroute add default via ${subnet}.1\n`),
      ),
    );
    if (chain) for (const s of services) await launchRunning(handle, s);
    else await Promise.all(services.map((s) => launchRunning(handle, s)));
    return { ms: performance.now() - t0, handle };
  } catch (e) {
    await floorCleanup(handle);
    throw e;
  }
}

/** Spawns service `s`'s workload joined to its cgroup in its netns; resolves once its `sleep` runs. */
async function launchRunning(handle, s) {
  const procsFiles = groupDirs(s.cgroup).map((d) => join(d, 'cgroup.procs'));
  // unshare's --net=FILE would make a NEW netns and mount it over FILE: nsenter enters the one made.
  const script = `ns=$1; shift; for f; do echo $$ > "$f"; done; exec nsenter --net="/run/netns/$ns" unshare ${NS_FLAGS.join(' ')} sleep 3600`;
  const child = spawn('sh', ['-c', script, 'sh', s.netns, ...procsFiles], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', () => undefined);
  handle.procs.set(s.name, { child, exited });
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`floor launch of ${s.name} exited ${child.exitCode ?? child.signalCode}`);
    if (child.pid !== undefined && children(child.pid).some((c) => comm(c) === 'sleep')) return;
    await sleep(1);
  }
}

/** Kills every process in service `s`'s cgroup (cgroup.kill on v2, each pid on v1) and waits until reaped. */
async function killGroups(handle, services) {
  for (const s of services) {
    const dirs = groupDirs(s.cgroup);
    if (layout.version === 2 && existsSync(join(dirs[0], 'cgroup.kill'))) {
      writeFileSync(join(dirs[0], 'cgroup.kill'), '1');
      continue;
    }
    let pids = [];
    try {
      pids = readFileSync(join(dirs[0], 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // no group
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(services.map((s) => handle.procs.get(s.name)?.exited));
  for (const s of services) handle.procs.delete(s.name);
  // The sleeps (reparented once unshare died) are reaped by init: wait until each group is empty.
  for (const s of services) {
    for (const dir of groupDirs(s.cgroup)) {
      for (;;) {
        let text = '';
        try {
          text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
        } catch {
          // gone
        }
        if (text.trim() === '') break;
        await sleep(1);
      }
    }
  }
}

/** rmdir with retries while the kernel still counts exiting tasks (EBUSY); gone is fine. */
async function rmdirSettled(dir) {
  for (let tries = 0; ; tries++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if (e.code === 'ENOENT') return;
      if (e.code !== 'EBUSY' || tries > 2000) throw e;
      await sleep(1);
    }
  }
}

/** Scripted down of what scriptedUp made; resolves the ms it took. */
export async function scriptedDown(handle) {
  const t0 = performance.now();
  await killGroups(handle, handle.services);
  for (const s of handle.services) for (const dir of groupDirs(s.cgroup)) await rmdirSettled(dir);
  for (const dir of groupDirs(cgroupPath(handle.project))) await rmdirSettled(dir);
  const batch = [`link del group ${handle.group}`, ...handle.services.map((s) => `netns del ${s.netns}`)].join('\n');
  await run('ip', ['-batch', '-'], `${batch}\n`);
  handle.made = false;
  return performance.now() - t0;
}

/** Kills service `i`'s workload (not timed), then launches it again; resolves the launch's ms. */
export async function scriptedRelaunch(handle, i) {
  const s = handle.services[i];
  await killGroups(handle, [s]);
  const t0 = performance.now();
  await launchRunning(handle, s);
  return performance.now() - t0;
}

/**
 * `true` run inside service `i` as `stack exec` runs a command there, by the most direct means:
 * a shell joins the service's cgroups, then nsenter enters its workload's mount, UTS, IPC, net
 * and pid namespaces and runs it (forking into the pid namespace). Resolves the ms to its exit.
 */
export async function scriptedExec(handle, i) {
  const s = handle.services[i];
  const unshare = handle.procs.get(s.name)?.child.pid;
  const workload = unshare === undefined ? undefined : children(unshare).find((c) => comm(c) === 'sleep');
  if (workload === undefined) throw new Error(`bench/_floor.mjs: service ${s.name} runs no workload to exec into`);
  const procsFiles = groupDirs(s.cgroup).map((d) => join(d, 'cgroup.procs'));
  const script = 'pid=$1; shift; for f; do echo $$ > "$f"; done; exec nsenter --target "$pid" --mount --uts --ipc --net --pid true';
  const t0 = performance.now();
  await run('sh', ['-c', script, 'sh', String(workload), ...procsFiles]);
  return performance.now() - t0;
}

/** Best-effort removal of whatever is left of `handle` (for finally blocks); never throws. */
export async function floorCleanup(handle) {
  if (!handle?.made) return;
  await killGroups(handle, handle.services).catch(() => undefined);
  for (const s of handle.services) for (const dir of groupDirs(s.cgroup)) await rmdirSettled(dir).catch(() => undefined);
  for (const dir of groupDirs(cgroupPath(handle.project))) await rmdirSettled(dir).catch(() => undefined);
  const batch = [
    `link del group ${handle.group}`,
    ...handle.services.map((s) => `link del ${s.veth}`),
    `link del ${handle.bridge}`,
    ...handle.services.map((s) => `netns del ${s.netns}`),
  ].join('\n');
  await run('ip', ['-force', '-batch', '-'], `${batch}\n`).catch(() => undefined);
  handle.made = false;
}

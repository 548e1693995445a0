// The cgroup v2 device filter on the real kernel: the eBPF program devices-bpf.ts builds from the
// device rules, loaded and attached by bpf.ts (what the v2 manager does), decides what a process
// of the group may open and mknod. On a hybrid host (v1 for limits) the cgroup2 mount holds no
// controllers, but device programs attach there all the same: these tests make their groups
// under its `stack/` folder. A probe process is moved into the group before it opens anything,
// then released to try each open and report the errno it got.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRoot } from '../../harness/require.js';
import { uniqueProject } from './helpers.js';
import { deviceProgram } from '../../../src/runtime/cgroup/devices-bpf.js';
import { deviceProgramCount, loadDeviceProgram, setDeviceProgram, VERIFIER_LOG_BYTES } from '../../../src/runtime/cgroup/bpf.js';
import { ALL_DEVICES, DEFAULT_DEVICE_RULES, type DeviceRule } from '../../../src/runtime/cgroup/devices.js';
import { nodeCgroupDeps, parseCgroupMounts, v2Manager, type CgroupHandle } from '../../../src/runtime/cgroup/index.js';
import { deviceRulesFor } from '../../../src/runtime/devices.js';
import { parseDevice } from '../../../src/spec/devices.js';

/** One attempt of the probe: `open` with flags (fs.constants names), or `mknod` of a node. */
type Attempt = { key: string; open: string; flags: 'O_RDONLY' | 'O_WRONLY' | 'O_RDWR' } | { key: string; mknod: string; type: 'b' | 'c'; major: number; minor: number };

// Waits for one byte on stdin (sent once it sits in the group), then makes each attempt and
// prints {key: 'ok' | errno code}. mknod(2) goes through mknod(1), whose message names the errno.
const PROBE = `
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
fs.readSync(0, Buffer.alloc(1));
const out = {};
for (const a of JSON.parse(process.argv[1])) {
  if (a.open) {
    try { fs.closeSync(fs.openSync(a.open, fs.constants[a.flags])); out[a.key] = 'ok'; } catch (e) { out[a.key] = e.code; }
  } else {
    const r = spawnSync('mknod', [a.mknod, a.type, String(a.major), String(a.minor)], { encoding: 'utf8' });
    out[a.key] = r.status === 0 ? 'ok' : /Operation not permitted/.test(r.stderr) ? 'EPERM' : 'failed: ' + r.stderr.trim();
  }
}
process.stdout.write(JSON.stringify(out));
`;

/** Starts the probe, moves it into the group with `join` before it opens anything, releases it and returns its results. */
async function probe(join: (pid: number) => Promise<void> | void, attempts: readonly Attempt[]): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ['-e', PROBE, JSON.stringify(attempts)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  try {
    if (child.pid === undefined) throw new Error('the probe did not start');
    await join(child.pid);
    child.stdin.end('\n');
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`probe exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as Record<string, string>;
}

/** A block device of this host (a loop device when there is one): its numbers from /sys/dev/block. */
function hostBlockDevice(): { major: number; minor: number } {
  const all = readdirSync('/sys/dev/block').map((n) => n.split(':').map(Number) as [number, number]);
  const pick = all.find(([major]) => major === 7) ?? all[0];
  if (!pick) throw new Error('this host has no block device in /sys/dev/block');
  return { major: pick[0], minor: pick[1] };
}

describeRoot('the eBPF device program (cgroup v2) on the real kernel', () => {
  const unified = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).unified;
  let scratch: string;
  let blockNode: string;
  let memNode: string;
  let block: { major: number; minor: number };
  const made: string[] = [];

  beforeAll(() => {
    if (unified === undefined) throw new Error('no cgroup2 mount on this host: the device program has nowhere to attach');
  });

  const setup = () => {
    scratch = mkdtempSync(join(tmpdir(), 'stack-devbpf-'));
    block = hostBlockDevice();
    blockNode = join(scratch, 'blk');
    memNode = join(scratch, 'mem');
    execFileSync('mknod', [blockNode, 'b', String(block.major), String(block.minor)]);
    execFileSync('mknod', [memNode, 'c', '1', '1']);
  };

  /** A group `stack/<project>/<name>` on the cgroup2 mount with `rules` as its device program. */
  const rawGroup = (rules: readonly DeviceRule[]): string => {
    const project = join(unified!, 'stack', uniqueProject());
    mkdirSync(project, { recursive: true });
    made.push(project);
    const dir = join(project, 'raw');
    mkdirSync(dir);
    made.push(dir);
    setDeviceProgram(dir, deviceProgram(rules));
    return dir;
  };
  const joinRaw = (dir: string) => (pid: number) => writeFileSync(join(dir, 'cgroup.procs'), String(pid));

  afterEach(() => {
    // Each probe has exited before its test ends: the groups are empty, and the program goes with the dir.
    for (const dir of made.reverse()) if (existsSync(dir)) rmdirSync(dir);
    made.length = 0;
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("Docker's default rules: null and zero open, a block device and /dev/mem (1:1) do not, mknod does", async () => {
    setup();
    const dir = rawGroup(DEFAULT_DEVICE_RULES);
    expect(deviceProgramCount(dir)).toBe(1);
    const got = await probe(joinRaw(dir), [
      { key: 'null rw', open: '/dev/null', flags: 'O_RDWR' },
      { key: 'zero r', open: '/dev/zero', flags: 'O_RDONLY' },
      { key: 'urandom r', open: '/dev/urandom', flags: 'O_RDONLY' },
      { key: 'block r', open: blockNode, flags: 'O_RDONLY' },
      { key: 'mem r', open: memNode, flags: 'O_RDONLY' },
      { key: 'mknod b', mknod: join(scratch, 'blk2'), type: 'b', major: block.major, minor: block.minor },
    ]);
    expect(got).toEqual({ 'null rw': 'ok', 'zero r': 'ok', 'urandom r': 'ok', 'block r': 'EPERM', 'mem r': 'EPERM', 'mknod b': 'ok' });
  });

  it("a devices: entry with 'r' lets the block device open for reading, not for writing", async () => {
    setup();
    const mapping = parseDevice(`${blockNode}:/dev/xvdb:r`);
    if (!mapping.ok) throw new Error(mapping.reason);
    const rules = deviceRulesFor({ name: 'web', privileged: false, devices: [mapping.device] });
    expect(rules.at(-1)).toEqual({ type: 'b', major: block.major, minor: block.minor, access: 'r' });
    const dir = rawGroup(rules);
    // O_WRONLY is refused by the program before the driver sees it: nothing is written.
    const got = await probe(joinRaw(dir), [
      { key: 'block r', open: blockNode, flags: 'O_RDONLY' },
      { key: 'block w', open: blockNode, flags: 'O_WRONLY' },
      { key: 'mem r', open: memNode, flags: 'O_RDONLY' },
      { key: 'null rw', open: '/dev/null', flags: 'O_RDWR' },
    ]);
    expect(got).toEqual({ 'block r': 'ok', 'block w': 'EPERM', 'mem r': 'EPERM', 'null rw': 'ok' });
  });

  it('rules without m refuse mknod; rules with r only refuse a read-write open of an allowed node', async () => {
    setup();
    const dir = rawGroup([{ type: 'c', major: 1, minor: 3, access: 'r' }, { type: 'c', major: 1, minor: 5, access: 'rw' }]);
    const got = await probe(joinRaw(dir), [
      { key: 'null r', open: '/dev/null', flags: 'O_RDONLY' },
      { key: 'null rw', open: '/dev/null', flags: 'O_RDWR' },
      { key: 'null w', open: '/dev/null', flags: 'O_WRONLY' },
      { key: 'zero rw', open: '/dev/zero', flags: 'O_RDWR' },
      { key: 'full r', open: '/dev/full', flags: 'O_RDONLY' },
      { key: 'mknod c', mknod: join(scratch, 'null2'), type: 'c', major: 1, minor: 3 },
    ]);
    expect(got).toEqual({ 'null r': 'ok', 'null rw': 'EPERM', 'null w': 'EPERM', 'zero rw': 'ok', 'full r': 'EPERM', 'mknod c': 'EPERM' });
  });

  it('privileged (every device) opens the block node; a second attach replaces the program instead of adding one', async () => {
    setup();
    const dir = rawGroup(DEFAULT_DEVICE_RULES);
    setDeviceProgram(dir, deviceProgram(ALL_DEVICES));
    expect(deviceProgramCount(dir)).toBe(1);
    const got = await probe(joinRaw(dir), [
      { key: 'block r', open: blockNode, flags: 'O_RDONLY' },
      { key: 'null rw', open: '/dev/null', flags: 'O_RDWR' },
    ]);
    expect(got).toEqual({ 'block r': 'ok', 'null rw': 'ok' });
  });

  it('a long devices: list loads (no verifier log unless the load fails: before 6.4 a full log was ENOSPC)', async () => {
    setup();
    // 300 rules for majors nobody uses, then /dev/zero: 1500 instructions, each a log line of 40+
    // bytes at log_level 1, so more than the 64 KiB log (6.4+ truncates it; older kernels failed the
    // load). Far longer lists meet the verifier's 1M-instruction limit instead (E2BIG at ~2000 rules).
    const many: DeviceRule[] = Array.from({ length: 300 }, (_, i) => ({ type: 'c', major: 3000 + i, minor: i, access: 'rwm' }));
    expect(deviceProgram(many).length / 8).toBeGreaterThan(VERIFIER_LOG_BYTES / 44);
    const dir = rawGroup([...many, { type: 'c', major: 1, minor: 5, access: 'rw' }]);
    const got = await probe(joinRaw(dir), [
      { key: 'zero r', open: '/dev/zero', flags: 'O_RDONLY' },
      { key: 'null r', open: '/dev/null', flags: 'O_RDONLY' },
    ]);
    expect(got).toEqual({ 'zero r': 'ok', 'null r': 'EPERM' });
  });

  it('a program the verifier refuses fails with its errno and the end of the verifier log', () => {
    // One instruction, `exit`, with r0 never set: the verifier says "R0 !read_ok".
    const exitOnly = Buffer.from([0x95, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => closeSync(loadDeviceProgram(exitOnly))).toThrow(expect.objectContaining({ errno: 'EACCES', message: expect.stringMatching(/R0 !read_ok/) }));
  });

  describe('through the v2 CgroupManager (what a v2 host runs)', () => {
    let group: CgroupHandle | undefined;

    afterEach(async () => {
      await group?.destroy();
      if (group) for (const dir of group.dirs) expect(existsSync(dir)).toBe(false);
      group = undefined;
    });

    it('create() attaches the service rules to the group; join() puts the workload under them', async () => {
      setup();
      const manager = v2Manager(unified!, nodeCgroupDeps);
      const mapping = parseDevice({ source: blockNode, target: '/dev/xvdb', permissions: 'r' });
      if (!mapping.ok) throw new Error(mapping.reason);
      // pids_limit -1: this mount may have no pids controller, and "no limit" needs none.
      group = await manager.create(uniqueProject(), 'web', { pids: -1 }, deviceRulesFor({ name: 'web', privileged: false, devices: [mapping.device] }));
      const dir = group.dirs[0]!;
      expect(dir.startsWith(join(unified!, 'stack') + '/')).toBe(true);
      expect(deviceProgramCount(dir)).toBe(1);
      const handle = group;
      const got = await probe((pid) => handle.join(pid), [
        { key: 'null rw', open: '/dev/null', flags: 'O_RDWR' },
        { key: 'zero r', open: '/dev/zero', flags: 'O_RDONLY' },
        { key: 'block r', open: blockNode, flags: 'O_RDONLY' },
        { key: 'block w', open: blockNode, flags: 'O_WRONLY' },
        { key: 'mem r', open: memNode, flags: 'O_RDONLY' },
      ]);
      expect(got).toEqual({ 'null rw': 'ok', 'zero r': 'ok', 'block r': 'ok', 'block w': 'EPERM', 'mem r': 'EPERM' });

      // Adopting the group with the default rules swaps the program: the block node is refused now.
      await manager.create(group.project, 'web', { pids: -1 });
      expect(deviceProgramCount(dir)).toBe(1);
      const after = await probe((pid) => handle.join(pid), [{ key: 'block r', open: blockNode, flags: 'O_RDONLY' }]);
      expect(after).toEqual({ 'block r': 'EPERM' });
    });

    // Skipped (not passed) on a v2 host, whose mount has memory: memory limits are written there (test/integration/cgroup/enforce.test.ts).
    const hasMemory = unified !== undefined && readFileSync(join(unified, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
    it.skipIf(hasMemory)('a limit whose controller the mount lacks is refused, naming it', async () => {
      const manager = v2Manager(unified!, nodeCgroupDeps);
      const project = uniqueProject();
      await expect(manager.create(project, 'web', { pids: -1, memoryBytes: 64 << 20 })).rejects.toMatchObject({ code: 'CGROUP_CONTROLLER_MISSING' });
      expect(existsSync(join(unified!, 'stack', project))).toBe(false);
    });
  });
});

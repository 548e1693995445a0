// A child spawned with a `cgroup` folder (sys/spawn.ts, through libstack.so's clone3 with
// CLONE_INTO_CGROUP: sys/native-spawn.ts) is born in that cgroup v2 group, never moved there; the
// launcher born in its monitor group does not move itself there again (a cgroup.procs write
// would wait for an RCU grace period holding the kernel's cgroup mutex); where the folder is
// not there, the child is spawned as before, where this process is.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { parseCgroupMounts } from '../../../src/runtime/cgroup/detect.js';
import { monitorCgroupFolder, monitorGroup, monitorGroupRel } from '../../../src/runtime/cgroup/monitors.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { launcherMark } from '../../../src/names.js';
import { communicate } from '../../../src/sys/fd-io.js';
import { readyWatcher } from '../../../src/sys/ready-watch.js';
import { spawnPiped, type PipedChild } from '../../../src/sys/spawn.js';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';

const projects: string[] = [];
/**
 * Where libstack.so can make a child born in a group (native/lib/spawn.c): x86-64, Linux 5.7
 * (clone3 with a cgroup), and not a group with the cpuset controller before 6.3 (a monitor group
 * has it where stack.monitors passes it on). Elsewhere the fallback is the launcher's own move.
 */
const bornThere = ((): boolean => {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  const v2 = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).unified;
  let cpuset = false;
  try {
    cpuset = v2 !== undefined && readFileSync(join(v2, 'stack.monitors', 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpuset');
  } catch {
    // no stack.monitors yet: a new one passes nothing on
  }
  return process.arch === 'x64' && atLeast(5, 7) && (atLeast(6, 3) || !cpuset);
})();
const dir = mkdtempSync(join(tmpdir(), 'stack-born-placed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const project of projects.splice(0)) expect(await monitorGroup(project).remove(5000)).toEqual([]);
});

function project(): string {
  const name = `stkborn${randomBytes(3).toString('hex')}`;
  projects.push(name);
  return name;
}

/** The v2 line of a /proc/<pid>/cgroup text (`0::/path`), as its path. */
const v2Path = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('0::'))?.slice(3);

async function output(child: PipedChild, input = ''): Promise<{ out: string; err: string }> {
  const said = await communicate(child, Buffer.from(input), readyWatcher(), (stdout, stderr) => Promise.all([stdout.ended, stderr.ended]));
  return { out: said.stdout, err: said.stderr };
}

describeRoot('spawning into a cgroup v2 group', () => {
  it.runIf(bornThere)('a program is born in the group, with its stdio, environment, folder, session and default signals', async () => {
    const name = project();
    const folder = monitorCgroupFolder(name);
    expect(folder, 'this host mounts a cgroup v2 hierarchy (unified or only)').toBeDefined();
    const script = 'cat /proc/self/cgroup; echo "$FOO $(pwd)"; grep -E "^(SigIgn|SigBlk)" /proc/self/status; cut -d" " -f6 /proc/self/stat; echo $$; cat';
    const child = await spawnPiped('/bin/sh', ['-c', script], { env: { FOO: 'bar', PATH: '/usr/bin:/bin' }, cwd: dir, detached: true, cgroup: folder! });
    const { out } = await output(child, 'from stdin\n');
    const lines = out.split('\n');
    // sh never moves itself: it was made there.
    expect(v2Path(out)).toBe(`/${monitorGroupRel(name)}`);
    expect(lines).toContain(`bar ${dir}`);
    // Node ignores SIGPIPE and SIGXFSZ: not inherited. Only glibc's own two (32, 33) are left
    // ignored, as its posix_spawn leaves them (the launcher resets them for the workload).
    expect(lines).toContain('SigIgn:\t0000000180000000');
    expect(lines).toContain('SigBlk:\t0000000000000000');
    const pidAt = lines.lastIndexOf(String(child.pid)); // `echo $$`, after its session id
    expect(lines[pidAt - 1]).toBe(String(child.pid)); // its session is its own
    expect(lines).toContain('from stdin');
  });

  it.runIf(bornThere)('a daemon gets its descriptors in order, sources among the targets crossed; a program that is not there is ENOENT', async () => {
    const name = project();
    const folder = monitorCgroupFolder(name)!;
    // In a Node of its own whose 1 and 2 are two files: the daemon gets that Node's 2 as its 1
    // and its 1 as its 2, each source one of the targets (copied above them before any dup2).
    const [one, two] = [join(dir, 'one'), join(dir, 'two')];
    const spawnJs = pathToFileURL(resolve(__dirname, '../../../dist/sys/spawn.js')).href;
    const script = `import { spawnDetached } from ${JSON.stringify(spawnJs)};
      await spawnDetached('/bin/sh', ['-c', 'cat /proc/self/cgroup; echo to-one; echo to-two >&2'], { fds: [0, 2, 1], env: {}, cgroup: ${JSON.stringify(folder)} });`;
    const out = [openSync(one, 'w'), openSync(two, 'w')];
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', out[0]!, out[1]!] });
    } finally {
      out.forEach((fd) => closeSync(fd));
    }
    await eventually('the daemon wrote both', () => readFileSync(one, 'utf8').includes('to-two') && readFileSync(two, 'utf8').includes('to-one'), 5000);
    expect(readFileSync(one, 'utf8')).toBe('to-two\n');
    expect(v2Path(readFileSync(two, 'utf8'))).toBe(`/${monitorGroupRel(name)}`); // born in the group
    await expect(spawnPiped('/nonexistent-stk-program', [], { cgroup: folder })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a folder that is not there: spawned where this process is', async () => {
    const child = await spawnPiped('/bin/cat', ['/proc/self/cgroup'], { cgroup: join(dir, 'no-such-group') });
    const { out } = await output(child);
    expect(v2Path(out)).toBe(v2Path(readFileSync('/proc/self/cgroup', 'utf8')));
  });

  it.runIf(bornThere)('a launcher born in its monitor group does not move itself there again', async () => {
    const name = project();
    const folder = monitorCgroupFolder(name)!;
    // A v2 root that is a plain folder: a launcher that wrote to `<root>/<group>/cgroup.procs`
    // (there is none) would answer that its placement failed. Born in the group, it finds itself
    // there (/proc/self/cgroup) and leaves that hierarchy alone.
    const fakeRoot = join(dir, 'fake-v2');
    mkdirSync(fakeRoot, { recursive: true });
    writeFileSync(join(fakeRoot, 'cgroup.controllers'), '');
    const args = [launcherMark('web'), `--monitor-group=${monitorGroupRel(name)}`, `--hierarchy=${fakeRoot}`];
    const born = await spawnPiped(LAUNCHER_PATH, args, { detached: true, env: {}, cgroup: folder });
    const answer = (await output(born, '')).out;
    expect(answer).not.toMatch(/^err\tplace/);
    // The same launcher spawned elsewhere does try, and says so.
    const elsewhere = await spawnPiped(LAUNCHER_PATH, args, { detached: true, env: {} });
    expect((await output(elsewhere, '')).out).toMatch(/^err\tplace\tENOENT\t/);
    rmSync(fakeRoot, { recursive: true, force: true });
  });
});

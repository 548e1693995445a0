// A child spawned with a `cgroup` folder (sys/spawn.ts, through libstack.so's clone3 with
// CLONE_INTO_CGROUP: sys/native-spawn.ts) is born in that cgroup v2 group, never moved there; the
// launcher born in its monitor group does not move itself there again (a cgroup.procs write
// would wait for an RCU grace period holding the kernel's cgroup mutex); where the folder is
// not there, the child is spawned as before, where this process is.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { monitorCgroupFolder, monitorGroup, monitorGroupRel } from '../../../src/runtime/cgroup/monitors.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { launcherMark } from '../../../src/names.js';
import { communicate } from '../../../src/sys/fd-io.js';
import { readyWatcher } from '../../../src/sys/ready-watch.js';
import { spawnDetached, spawnPiped, type PipedChild } from '../../../src/sys/spawn.js';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';

const projects: string[] = [];
/** Where libstack.so can make a child born in a group (native/lib/spawn.c); elsewhere the fallback is the launcher's own move. */
const bornThere = process.arch === 'x64';
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
    expect(lines).toContain('SigIgn:\t0000000000000000'); // Node ignores SIGPIPE: not inherited
    expect(lines).toContain('SigBlk:\t0000000000000000');
    const pidAt = lines.lastIndexOf(String(child.pid)); // `echo $$`, after its session id
    expect(lines[pidAt - 1]).toBe(String(child.pid)); // its session is its own
    expect(lines).toContain('from stdin');
  });

  it.runIf(bornThere)('a daemon gets its descriptors in order, born in the group; a program that is not there is ENOENT', async () => {
    const name = project();
    const folder = monitorCgroupFolder(name)!;
    const file = join(dir, 'daemon.out');
    writeFileSync(file, '');
    const { openSync, closeSync } = await import('node:fs');
    const out = openSync(file, 'a');
    try {
      // fd 3 given as the child's 1 and 2, and itself as the child's 3: a source that is also a target.
      await spawnDetached('/bin/sh', ['-c', 'cat /proc/self/cgroup; echo three >&3'], { fds: [openSync('/dev/null', 'r'), out, out, out], env: {}, cgroup: folder });
      await eventually('the daemon wrote its lines', () => readFileSync(file, 'utf8').includes('three'));
      expect(v2Path(readFileSync(file, 'utf8'))).toBe(`/${monitorGroupRel(name)}`);
    } finally {
      closeSync(out);
    }
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

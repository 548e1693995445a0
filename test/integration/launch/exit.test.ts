// How a service ends and how a launch fails: exit codes, signals, OOM kills in the exit
// record; a missing program or folder reported to the caller at once. Real kernel, root.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '../../../src/runtime/launch.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { UserError } from '../../../src/errors.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, openFds, waitForExit } from './harness.js';

describeRoot('launch: exit records', () => {
  const rig = new LaunchRig();
  beforeAll(buildLauncher);
  afterAll(() => rig.cleanup());

  it('records the exit code', async () => {
    const { record, started } = await rig.run(testService({ command: ['sh', '-c', 'exit 3'] }));
    expect(record).toMatchObject({ pid: started.pid, startTime: started.startTime, exitCode: 3, signal: null, oomKilled: false });
  });

  it('starts the workload with every signal at its default and none blocked', async () => {
    // Node ignores SIGPIPE and SIGXFSZ; glibc's posix_spawn (src/sys/spawn.ts) leaves its own
    // signals 32 and 33 ignored in the launcher: the launcher hands none of that on.
    const { record, lines } = await rig.run(testService({ command: ['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status'] }));
    expect(record).toMatchObject({ exitCode: 0 });
    expect(lines.sort()).toEqual(['SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000']);
  });

  it('records the signal that killed it', async () => {
    const started = await rig.start(testService({ command: ['sleep', '3600'] }));
    process.kill(started.pid, 'SIGKILL');
    expect(await waitForExit(started.exitPath)).toMatchObject({ exitCode: null, signal: 'SIGKILL', oomKilled: false });
  });

  it('reports a service killed for exceeding its memory limit as OOM, alone', async () => {
    const sibling = await rig.start(testService({ command: ['sleep', '3600'] }));
    // `tail` keeps an ever-growing line from /dev/zero: it must hit the 32 MiB limit.
    const { record } = await rig.run(testService({ command: ['tail', '/dev/zero'], limits: { memoryBytes: 32 * 1024 * 1024 } }));
    expect(record).toMatchObject({ signal: 'SIGKILL', oomKilled: true });
    expect(record.oomKills).toBeGreaterThanOrEqual(1);
    expect(isSameProcess(sibling.pid, sibling.startTime)).toBe(true);
    expect(isSameProcess(sibling.monitorPid, sibling.monitorStartTime)).toBe(true);
    await sibling.group.killAll();
  });

  it('a program that does not exist fails the launch with a UserError naming service and program, leaving nothing', async () => {
    const fds = openFds();
    const group = await rig.group('missing');
    const paths = rig.paths('missing');
    const attempt = launch({ service: testService({ name: 'web', command: ['no-such-program-stk', 'arg'] }), cgroup: group, netns: 'new', ...paths });
    await expect(attempt).rejects.toThrowError(UserError);
    await expect(attempt).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND', message: expect.stringMatching(/service "web": program "no-such-program-stk" not found/) });
    expect(await group.pids()).toEqual([]);
    expect(existsSync(paths.exitPath)).toBe(false);
    expect(openFds()).toBe(fds);
  });

  it.each([
    ['a missing path', ['/nonexistent/prog'], {}, 'COMMAND_NOT_FOUND'],
    ['a file without x bits', ['./plain'], {}, 'COMMAND_NOT_EXECUTABLE'],
    ['an executable in no known format', ['./noformat'], {}, 'COMMAND_NOT_EXECUTABLE'],
    ['a working_dir that does not exist', ['true'], { workingDir: '/nonexistent/dir' }, 'WORKING_DIR_MISSING'],
  ])('%s fails with %s', async (_what, command, extra, code) => {
    writeFileSync(join(rig.dir, 'plain'), 'data\n', { mode: 0o644 });
    writeFileSync(join(rig.dir, 'noformat'), 'data\n', { mode: 0o755 });
    const attempt = launch({ service: testService({ command, workingDir: rig.dir, ...extra }), netns: 'new', ...rig.paths('failing') });
    await expect(attempt).rejects.toMatchObject({ code });
  });
});

// The launcher moves itself into its project's monitor group as it starts, before it reads its
// request (native/launcher/place.h), in every hierarchy this host mounts: launches running at
// once make the group together, a failure to join is the answer to the request, and with
// `--exec` it starts the project's supervisor already placed, with the descriptors it was given.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { hierarchyRoots, monitorGroup, monitorGroupArgs, monitorGroupRel } from '../../../src/runtime/cgroup/monitors.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { launcherMark } from '../../../src/names.js';
import { eventually } from '../../harness/eventually.js';
import { describeRoot } from '../../harness/require.js';

const children: ChildProcess[] = [];
const projects: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const project of projects.splice(0)) expect(await monitorGroup(project).remove(5000)).toEqual([]);
});

function project(): string {
  const name = `stkplace${randomBytes(3).toString('hex')}`;
  projects.push(name);
  return name;
}

/** Whether `pid` is in `project`'s monitor group in every hierarchy (not yet where the group is not made yet). */
function placed(pid: number, project: string): boolean {
  const rel = monitorGroupRel(project);
  return hierarchyRoots().every((root) => {
    try {
      return readFileSync(join(root, rel, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  });
}

function launcher(args: readonly string[], stdio: ('pipe' | 'ignore')[] = ['pipe', 'pipe', 'pipe']): ChildProcess {
  const child = spawn(LAUNCHER_PATH, [...args], { stdio, env: {} });
  children.push(child);
  return child;
}

/** Resolves with its exit code once it has exited (at once when it has). */
function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return once(child, 'exit').then(([code]) => code as number | null);
}

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describeRoot('launcher: its monitor group', () => {
  it('eight launchers started at once make and join one group, a cpuset group made and not filled yet included', async () => {
    const name = project();
    // What another launcher leaves for an instant: the group's folder made, its v1 cpuset (where
    // the host has one) not filled yet, so that joining it fails with ENOSPC.
    const cpuset = hierarchyRoots().find((root) => existsSync(join(root, 'cpuset.cpus')) && !existsSync(join(root, 'cgroup.controllers')));
    if (cpuset !== undefined) mkdirSync(join(cpuset, monitorGroupRel(name)), { recursive: true });
    const launchers = Array.from({ length: 8 }, (_, i) => launcher([launcherMark(`s${i}`), ...monitorGroupArgs(name)]));
    await eventually('every launcher in the group in every hierarchy', () => launchers.every((l) => placed(l.pid!, name)));
    expect(new Set(await monitorGroup(name).pids())).toEqual(new Set(launchers.map((l) => l.pid)));
    for (const l of launchers) l.stdin!.end(); // an empty request: each leaves
    await Promise.all(launchers.map(exited));
  });

  it('a group it cannot make is the answer to its request, naming what failed', async () => {
    const l = launcher([launcherMark('web'), `--monitor-group=${monitorGroupRel('stkplace')}`, '--hierarchy=/nonexistent-stk-hierarchy']);
    const answer = text(l.stdout!);
    l.stdin!.end('name\0web\0');
    expect(await answer).toBe('err\tplace\tENOENT\tmkdir /nonexistent-stk-hierarchy/stack.monitors\n');
    expect(await exited(l)).toBe(127);
  });

  it('--exec runs the program placed, with its descriptors, and closes the placed one as it does', async () => {
    const name = project();
    const script = 'cat /proc/self/cgroup; for fd in 3 4; do [ -e /proc/$$/fd/$fd ] && echo "fd $fd"; done; echo kept >&4';
    const l = launcher([...monitorGroupArgs(name), '--placed-fd=3', '--exec', '/bin/sh', '-c', script], ['ignore', 'pipe', 'pipe', 'pipe', 'pipe']);
    const [out, placedEnd, kept] = [text(l.stdout!), text(l.stdio[3] as Readable), text(l.stdio[4] as Readable)];
    expect(await placedEnd).toBe(''); // closed by the exec, nothing written
    const lines = (await out).split('\n');
    expect(lines.filter((line) => line.endsWith(`/${monitorGroupRel(name)}`))).toHaveLength(hierarchyRoots().length);
    expect(lines).not.toContain('fd 3');
    expect(lines).toContain('fd 4');
    expect(await kept).toBe('kept\n');
    expect(await exited(l)).toBe(0);
  });

  it('--exec of a program that cannot run: a byte on the placed descriptor, the reason on stderr, 127', async () => {
    const name = project();
    const l = launcher([...monitorGroupArgs(name), '--placed-fd=3', '--exec', '/nonexistent-stk-program'], ['ignore', 'pipe', 'pipe', 'pipe']);
    const [err, placedEnd] = [text(l.stderr!), text(l.stdio[3] as Readable)];
    expect(await placedEnd).toBe('x');
    expect(await err).toBe('stack launcher: cannot run /nonexistent-stk-program: No such file or directory\n');
    expect(await exited(l)).toBe(127);
  });

  it('--take-fds: placed first, it copies its caller\'s descriptors to its 1, 2, 3 and adds the last argument only when told', async () => {
    const name = project();
    const dir = mkdtempSync(join(tmpdir(), 'stack-take-'));
    const [log, sockets] = [openSync(join(dir, 'log'), 'w'), openSync(join(dir, 'sockets'), 'w')];
    try {
      const script = 'echo "args $*"; cat /proc/self/cgroup; echo "to fd 3" >&3; [ -e /proc/$$/fd/4 ] && echo "fd 4"; exit 0';
      const l = launcher([...monitorGroupArgs(name), '--placed-fd=3', `--take-fds=${process.pid}`, '--exec', '/bin/sh', '-c', script, 'sh'], ['pipe', 'ignore', 'ignore', 'pipe']);
      const placedEnd = text(l.stdio[3] as Readable);
      // Placed before it is told anything: it waits for its descriptors there.
      await eventually('the launcher in the group in every hierarchy', () => placed(l.pid!, name));
      l.stdin!.end(`${log} ${log} ${sockets}\n--sockets=[1,2]`);
      expect(await placedEnd).toBe('t'); // taken, then closed before the exec
      expect(await exited(l)).toBe(0);
      const lines = readFileSync(join(dir, 'log'), 'utf8').split('\n');
      expect(lines[0]).toBe('args --sockets=[1,2]');
      expect(lines.filter((line) => line.endsWith(`/${monitorGroupRel(name)}`))).toHaveLength(hierarchyRoots().length);
      expect(lines).not.toContain('fd 4'); // its placed end, set aside, closed by the exec
      expect(readFileSync(join(dir, 'sockets'), 'utf8')).toBe('to fd 3\n');
    } finally {
      closeSync(log);
      closeSync(sockets);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--take-fds: let go (the end of its stdin, nothing said) it runs nothing; a request it cannot take is said on the placed descriptor', async () => {
    const name = project();
    const args = [...monitorGroupArgs(name), '--placed-fd=3', `--take-fds=${process.pid}`, '--exec', '/bin/sh', '-c', 'echo ran'];
    const letGo = launcher(args, ['pipe', 'pipe', 'pipe', 'pipe']);
    const [out, placedEnd] = [text(letGo.stdout!), text(letGo.stdio[3] as Readable)];
    letGo.stdin!.end();
    expect(await exited(letGo)).toBe(0);
    expect([await out, await placedEnd]).toEqual(['', '']);

    // A descriptor its caller does not have (9999): nothing runs, and it says why.
    const refused = launcher(args, ['pipe', 'pipe', 'pipe', 'pipe']);
    const [out2, placedEnd2] = [text(refused.stdout!), text(refused.stdio[3] as Readable)];
    refused.stdin!.end('1 9999\n');
    expect(await exited(refused)).toBe(127);
    expect(await placedEnd2).toBe('take\tpidfd_getfd descriptor 9999 of its caller: Bad file descriptor\n');
    expect(await out2).toBe('');

    // Named a caller that is not its parent (this process's own parent): nothing is taken from it.
    const other = launcher([...monitorGroupArgs(name), '--placed-fd=3', `--take-fds=${process.ppid}`, '--exec', '/bin/sh', '-c', 'echo ran'], ['pipe', 'pipe', 'pipe', 'pipe']);
    const [out3, placedEnd3] = [text(other.stdout!), text(other.stdio[3] as Readable)];
    other.stdin!.end('1\n');
    expect(await exited(other)).toBe(127);
    expect(await placedEnd3).toBe(`take\tpid ${process.ppid} is not its parent (its caller is gone): No such process\n`);
    expect(await out3).toBe('');
  });
});

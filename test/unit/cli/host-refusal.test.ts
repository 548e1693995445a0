// A refusal of the host's (a full disk, a read-only file system, no root) is told as a user's
// problem with what to do; anything else stays a bug. The errors are made as Node makes them (fs:
// code, errno, syscall, path), as the cgroup files' calls wrap them (a KernelError around
// node:fs's, runtime/cgroup/io.ts) and as kernel requests throw them (KernelError).
import { openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostRefusal } from '../../../src/cli/host-refusal.js';
import { reportError } from '../../../src/cli/report.js';
import { AggregateStackError, KernelError, OperationFailure, UserError } from '../../../src/errors.js';

/** Where this test says stack's state is, and that stack runs as root (unless a case says). */
const ROOT = { root: true, state: ['/s/run', '/s/lib'] };
const USER = { ...ROOT, root: false };

/** An error as Node throws it for `syscall` on `path` refused with `code`. */
function fsError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: refused, ${syscall}${path === undefined ? '' : ` '${path}'`}`) as NodeJS.ErrnoException;
  return Object.assign(e, { code, errno: -1, syscall, ...(path !== undefined && { path }) });
}

/** A cgroup file's call as runtime/cgroup/io.ts throws it: `call` names the file, node:fs's error inside. */
const cgroupError = (call: string, code: string, cause: NodeJS.ErrnoException) => new KernelError(call, code, 1, { cause });

function written(e: unknown): { status: number; text: string } {
  let text = '';
  const status = reportError(e, { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, '/');
  return { status, text };
}

describe('hostRefusal', () => {
  it("tells a full disk under stack's state as the host's: the call, the folder to free, STACK_ROOT", () => {
    const u = hostRefusal(fsError('ENOSPC', 'open', '/s/run/p/networks/default.json.1.2.tmp'), ROOT);
    expect(u).toBeInstanceOf(UserError);
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('no space left on device: open /s/run/p/networks/default.json.1.2.tmp');
    expect(u?.hint).toBe(
      "free space on the file system that holds /s/run/p/networks (`df -h`, and `df -i`: each file takes an inode), then run the command again; STACK_ROOT puts stack's state on another file system",
    );
  });

  it("names STACK_ROOT only for stack's state (a bind source, a cp destination are the user's files)", () => {
    expect(hostRefusal(fsError('ENOSPC', 'write', '/home/me/out/file'), ROOT)?.hint).not.toContain('STACK_ROOT');
    expect(hostRefusal(fsError('EROFS', 'open', '/mnt/ro/x'), ROOT)?.hint).toBe('/mnt/ro is on a file system mounted read-only: remount it read-write');
    expect(hostRefusal(fsError('EROFS', 'open', '/s/lib/p/volumes/v'), ROOT)?.hint).toContain('or set STACK_ROOT to a folder on a writable one');
  });

  it('says which service an operation failed for, and keeps a wrapper\'s own words', () => {
    const op = new OperationFailure('service "a": ENOSPC ... (start-service:a)', 'service "a"', { cause: fsError('ENOSPC', 'mkdir', '/s/run/p/runtime/a') });
    expect(hostRefusal(op, ROOT)?.message).toBe('service "a": no space left on device: mkdir /s/run/p/runtime/a');
    const inner = fsError('ENFILE', 'pipe2');
    const wrapper = new Error(`cannot start the supervisor: ${inner.message}`, { cause: inner });
    expect(hostRefusal(wrapper, ROOT)?.message).toBe('cannot start the supervisor: too many open files on this host: pipe2');
    // spawn.ts's own words end with the errno, not with its cause's message: said once
    const spawned = Object.assign(new Error('spawn /usr/bin/node: ENFILE', { cause: fsError('ENFILE', 'posix_spawn /usr/bin/node') }), { code: 'ENFILE' });
    const outer = new Error(`cannot start the supervisor: ${spawned.message}`, { cause: spawned });
    expect(hostRefusal(outer, ROOT)?.message).toBe('cannot start the supervisor: spawn /usr/bin/node: too many open files on this host: posix_spawn /usr/bin/node');
  });

  it("takes a write on a descriptor (no path: the lock's holder line) as a file system's refusal", () => {
    const u = hostRefusal(fsError('EDQUOT', 'write'), ROOT);
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('disk quota exceeded: write');
    expect(u?.hint).toContain('the file system that holds the file');
  });

  it('tells a read-only file system, a failing disk, a host out of descriptors', () => {
    expect(hostRefusal(fsError('EROFS', 'open', '/s/run/p/lock'), ROOT)?.code).toBe('HOST_READ_ONLY');
    // node:fs names no path for a read or a write (a descriptor's): a failing disk's all the same
    expect(hostRefusal(fsError('EIO', 'read'), ROOT)).toMatchObject({ code: 'HOST_IO_ERROR', message: 'input/output error: read' });
    expect(hostRefusal(fsError('EIO', 'open', '/disk/f'), ROOT)?.hint).toContain('dmesg');
    expect(hostRefusal(new KernelError('socket(AF_NETLINK)', 'ENFILE', 23), ROOT)?.code).toBe('HOST_NO_DESCRIPTORS');
  });

  it("leaves EMFILE (a leak of stack's: Node raises its own limit), and a write refused to root with no path (a sysctl's as likely), bugs", () => {
    expect(hostRefusal(fsError('EMFILE', 'open', '/s/run/p/x'), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EPERM', 'write'), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EACCES', 'write'), USER)?.code).toBe('NEEDS_ROOT');
  });

  it('tells the inotify watch limit and a kernel out of cgroups apart from a full disk', () => {
    expect(hostRefusal(fsError('ENOSPC', 'watch', '/project/src'), ROOT)?.hint).toContain('fs.inotify.max_user_watches');
    expect(hostRefusal(fsError('ENOSPC', 'mkdir', '/sys/fs/cgroup/memory/stack/p/a'), ROOT)?.code).toBe('HOST_NO_CGROUPS');
    const mkdir = cgroupError('mkdir /sys/fs/cgroup/memory/stack/p/a', 'ENOSPC', fsError('ENOSPC', 'mkdir', '/sys/fs/cgroup/memory/stack/p/a'));
    expect(hostRefusal(mkdir, ROOT)?.code).toBe('HOST_NO_CGROUPS');
  });

  it("leaves a kernel file's refusal a bug (a cgroup's write on a descriptor, a sysctl), however it reads", () => {
    // a v1 cpuset group without cpus refuses a process with ENOSPC; a parent devices group refuses a rule with EPERM
    const procs = cgroupError('write /sys/fs/cgroup/cpuset/stack/p/a/cgroup.procs "12"', 'ENOSPC', fsError('ENOSPC', 'write'));
    expect(hostRefusal(procs, ROOT)).toBeUndefined();
    const devices = cgroupError('write /sys/fs/cgroup/devices/stack/p/a/devices.allow "c 1:3 rwm"', 'EPERM', fsError('EPERM', 'write'));
    expect(hostRefusal(devices, ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EROFS', 'open', '/proc/sys/net/ipv4/ping_group_range'), ROOT)).toBeUndefined();
    expect(hostRefusal(devices, USER)?.code).toBe('NEEDS_ROOT'); // not root: that, first
  });

  it('tells a permission refused to someone not root to run stack as root, whatever the call', () => {
    const u = hostRefusal(fsError('EACCES', 'mkdir', '/run/stack/p'), USER);
    expect(u?.code).toBe('NEEDS_ROOT');
    expect(u?.message).toBe('permission denied: mkdir /run/stack/p');
    expect(u?.hint).toContain('run it as root (`sudo stack ...`)');
    expect(hostRefusal(new KernelError('RTM_NEWLINK stk1a2b', 'EPERM', 1), USER)?.code).toBe('NEEDS_ROOT');
    expect(hostRefusal(fsError('EPERM', 'kill'), USER)?.code).toBe('NEEDS_ROOT');
  });

  it("tells a file system that refuses root; leaves a kernel request's, or a call that is no file's, refused to root a bug", () => {
    const u = hostRefusal(fsError('EACCES', 'open', '/nfs/state/run/p/lock'), { root: true, state: ['/nfs/state/run'] });
    expect(u?.code).toBe('HOST_PERMISSION_DENIED');
    expect(u?.hint).toContain('/nfs/state/run/p refuses root');
    expect(u?.hint).toContain('STACK_ROOT');
    expect(hostRefusal(new KernelError('mount tmpfs on /x', 'EPERM', 1), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EPERM', 'kill'), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EACCES', 'connect', '/s/run/p/supervisor/control.sock'), ROOT)).toBeUndefined();
  });

  it('tells a file where a folder of the state is expected', () => {
    const u = hostRefusal(fsError('ENOTDIR', 'mkdir', '/s/run/p'), { root: true, state: ['/s/run'] });
    expect(u?.code).toBe('HOST_NOT_A_FOLDER');
    expect(u?.hint).toBe('a part of /s/run is a file where a folder is expected: check STACK_ROOT, or move that file away');
  });

  it("leaves a kernel request's ENOSPC, and an errno stack caused, to be reported as bugs", () => {
    expect(hostRefusal(new KernelError('RTM_NEWADDR 10.0.0.1/24 dev stk1', 'ENOSPC', 28), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('EINVAL', 'open', '/x'), ROOT)).toBeUndefined();
    expect(hostRefusal(fsError('ENOENT', 'open', '/x'), ROOT)).toBeUndefined();
    expect(hostRefusal(new Error('no code'), ROOT)).toBeUndefined();
    expect(hostRefusal(new UserError('X', 'already a user error'), ROOT)).toBeUndefined();
  });

  it("tells several failures when each is the host's or the user's, and none when one is a bug", () => {
    const full = new OperationFailure('netns a: ... (create-netns:a)', 'netns a', { cause: fsError('ENOSPC', 'mkdir', '/s/run/p/services') });
    const user = new UserError('PORT_IN_USE', 'service "b": port 80 is in use');
    const u = hostRefusal(new AggregateStackError('2 operations failed', [full, user]), ROOT);
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('2 operations failed:\n  netns a: no space left on device: mkdir /s/run/p/services\n  service "b": port 80 is in use');
    expect(hostRefusal(new AggregateStackError('2 operations failed', [full, new Error('a bug')]), ROOT)).toBeUndefined();
    expect(hostRefusal(new AggregateStackError('1 operation failed', [user]), ROOT)).toBeUndefined();
  });

  it('reads the fields node:fs really gives its errors', () => {
    let thrown: unknown;
    try {
      openSync('/nonexistent-stack-test/lock', 'r');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nonexistent-stack-test/lock' });
    expect(hostRefusal(thrown, ROOT)).toBeUndefined(); // a missing file is no refusal of the host's
  });
});

describe('reportError', () => {
  it('prints a refusal of the host as a message and a hint, status 1', () => {
    const e = fsError('ENOSPC', 'open', '/elsewhere/lock');
    const { status, text } = written(e);
    expect(status).toBe(1);
    expect(text).toBe(`stack: no space left on device: open /elsewhere/lock\nhint: ${hostRefusal(e)!.hint}\n`);
    expect(text).not.toContain('internal error');
  });

  it('still prints anything else as a bug, status 2', () => {
    const { status, text } = written(fsError('EBADF', 'read'));
    expect(status).toBe(2);
    expect(text).toContain('internal error');
  });
});

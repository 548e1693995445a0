// A refusal of the host's (a full disk, a read-only file system, no descriptors left) is told as
// a user's problem with what to do; any other failure stays a bug. The errors are made as Node
// makes them (fs: code, errno, syscall, path) and as the kernel requests do (KernelError).
import { openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostRefusal } from '../../../src/cli/host-refusal.js';
import { reportError } from '../../../src/cli/report.js';
import { AggregateStackError, KernelError, OperationFailure, UserError } from '../../../src/errors.js';

/** An error as node:fs throws it for `syscall` on `path` refused with `code`. */
function fsError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: refused, ${syscall}${path === undefined ? '' : ` '${path}'`}`) as NodeJS.ErrnoException;
  return Object.assign(e, { code, errno: -1, syscall, ...(path !== undefined && { path }) });
}

function written(e: unknown): { status: number; text: string } {
  let text = '';
  const status = reportError(e, { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, '/');
  return { status, text };
}

describe('hostRefusal', () => {
  it('tells a full disk as the host\'s, naming the call and the folder to free', () => {
    const u = hostRefusal(fsError('ENOSPC', 'open', '/var/run/stack/run/p/networks/default.json.1.2.tmp'));
    expect(u).toBeInstanceOf(UserError);
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('no space left on device: open /var/run/stack/run/p/networks/default.json.1.2.tmp');
    expect(u?.hint).toContain('the file system that holds /var/run/stack/run/p/networks (`df -h`, and `df -i`');
    expect(u?.hint).toContain('STACK_ROOT');
  });

  it('says which service an operation failed for', () => {
    const op = new OperationFailure('service "a": ENOSPC ... (start-service:a)', 'service "a"', { cause: fsError('ENOSPC', 'mkdir', '/s/run/p/runtime/a') });
    expect(hostRefusal(op)?.message).toBe('service "a": no space left on device: mkdir /s/run/p/runtime/a');
  });

  it('takes a write on a descriptor (no path) as a file system\'s refusal', () => {
    const u = hostRefusal(fsError('EDQUOT', 'write'));
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('disk quota exceeded: write');
    expect(u?.hint).toContain("stack's state");
  });

  it('tells a read-only file system, and a process or host out of descriptors', () => {
    expect(hostRefusal(fsError('EROFS', 'open', '/ro/state/lock'))?.code).toBe('HOST_READ_ONLY');
    expect(hostRefusal(fsError('EMFILE', 'open', '/x'))?.hint).toContain('ulimit -n');
    expect(hostRefusal(new KernelError('socket(AF_NETLINK)', 'ENFILE', 23))?.code).toBe('HOST_NO_DESCRIPTORS');
    expect(hostRefusal(fsError('EIO', 'read', '/disk/f'))?.hint).toContain('dmesg');
  });

  it('tells the inotify watch limit and a kernel out of cgroups apart from a full disk', () => {
    expect(hostRefusal(new KernelError('inotify_add_watch /s/run/p/runtime/a', 'ENOSPC', 28))?.code).toBe('HOST_NO_WATCHES');
    expect(hostRefusal(fsError('ENOSPC', 'watch', '/project/src'))?.hint).toContain('fs.inotify.max_user_watches');
    expect(hostRefusal(fsError('ENOSPC', 'mkdir', '/sys/fs/cgroup/memory/stack/p/a'))?.code).toBe('HOST_NO_CGROUPS');
    // as the cgroup files' calls throw it: a KernelError made of node:fs's error (runtime/cgroup/io.ts)
    const wrapped = new KernelError('mkdir /sys/fs/cgroup/memory/stack/p/a', 'ENOSPC', 28, { cause: fsError('ENOSPC', 'mkdir', '/sys/fs/cgroup/memory/stack/p/a') });
    expect(hostRefusal(wrapped)?.code).toBe('HOST_NO_CGROUPS');
    const full = new KernelError('write /s/f "1"', 'EROFS', 30, { cause: fsError('EROFS', 'open', '/s/f') });
    expect(hostRefusal(full)).toMatchObject({ code: 'HOST_READ_ONLY', message: 'read-only file system: write /s/f "1"' });
  });

  it('tells a permission refused to someone not root to run stack as root', () => {
    const u = hostRefusal(fsError('EACCES', 'mkdir', '/run/stack/p'), false);
    expect(u?.code).toBe('NEEDS_ROOT');
    expect(u?.message).toBe('permission denied: mkdir /run/stack/p');
    expect(u?.hint).toContain('run it as root (`sudo stack ...`)');
    expect(hostRefusal(new KernelError('RTM_NEWLINK stk1a2b', 'EPERM', 1), false)?.code).toBe('NEEDS_ROOT');
  });

  it('tells a file system that refuses root, and leaves a kernel request refused to root a bug', () => {
    const u = hostRefusal(fsError('EACCES', 'open', '/nfs/state/run/p/lock'), true);
    expect(u?.code).toBe('HOST_PERMISSION_DENIED');
    expect(u?.hint).toContain('/nfs/state/run/p refuses root');
    expect(hostRefusal(new KernelError('mount tmpfs on /x', 'EPERM', 1), true)).toBeUndefined();
  });

  it('tells a file where a folder of the state is expected', () => {
    const u = hostRefusal(fsError('ENOTDIR', 'mkdir', '/tmp/statefile/run/p'));
    expect(u?.code).toBe('HOST_NOT_A_FOLDER');
    expect(u?.hint).toContain('a part of /tmp/statefile/run is a file where a folder is expected: check STACK_ROOT');
  });

  it('leaves a kernel request\'s ENOSPC, and an errno stack caused, to be reported as bugs', () => {
    expect(hostRefusal(new KernelError('RTM_NEWADDR 10.0.0.1/24 dev stk1', 'ENOSPC', 28))).toBeUndefined();
    expect(hostRefusal(fsError('EINVAL', 'open', '/x'))).toBeUndefined();
    expect(hostRefusal(fsError('ENOENT', 'open', '/x'))).toBeUndefined();
    expect(hostRefusal(new Error('no code'))).toBeUndefined();
    expect(hostRefusal(new UserError('X', 'already a user error'))).toBeUndefined();
  });

  it('tells several failures when each is the host\'s or the user\'s, and none when one is a bug', () => {
    const full = new OperationFailure('netns a: ... (create-netns:a)', 'netns a', { cause: fsError('ENOSPC', 'mkdir', '/s/run/p/services') });
    const user = new UserError('PORT_IN_USE', 'service "b": port 80 is in use');
    const u = hostRefusal(new AggregateStackError('2 operations failed', [full, user]));
    expect(u?.code).toBe('HOST_NO_SPACE');
    expect(u?.message).toBe('2 operations failed:\n  netns a: no space left on device: mkdir /s/run/p/services\n  service "b": port 80 is in use');
    expect(hostRefusal(new AggregateStackError('2 operations failed', [full, new Error('a bug')]))).toBeUndefined();
    expect(hostRefusal(new AggregateStackError('1 operation failed', [user]))).toBeUndefined();
  });

  it('reads the fields node:fs really gives its errors', () => {
    let thrown: unknown;
    try {
      openSync('/nonexistent-stack-test/lock', 'r');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nonexistent-stack-test/lock' });
    expect(hostRefusal(thrown)).toBeUndefined(); // a missing file is no refusal of the host's
  });
});

describe('reportError', () => {
  it('prints a refusal of the host as a message and a hint, status 1', () => {
    const { status, text } = written(fsError('ENOSPC', 'open', '/s/run/p/lock'));
    expect(status).toBe(1);
    expect(text).toBe(`stack: no space left on device: open /s/run/p/lock\nhint: ${hostRefusal(fsError('ENOSPC', 'open', '/s/run/p/lock'))!.hint}\n`);
    expect(text).not.toContain('internal error');
  });

  it('still prints anything else as a bug, status 2', () => {
    const { status, text } = written(fsError('EBADF', 'read'));
    expect(status).toBe(2);
    expect(text).toContain('internal error');
  });
});

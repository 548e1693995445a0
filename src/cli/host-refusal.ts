// A failure the host caused, not stack: a full or read-only file system, a quota, no file
// descriptors left on the host, a disk that fails, a command run without root (or a file system
// that refuses root), a file where a folder is expected, the kernel out of cgroups or inotify
// watches. A system call refused so (Node's fs errors, the KernelErrors of the cgroup files'
// calls and of kernel requests), however deep in a run's failures it was thrown, is told as a
// UserError: what was refused, where, and what to do, without the stack trace and the "this is a
// bug" that report.ts gives anything it does not know.
// Everything else stays a bug, shown as one: any other errno (EINVAL, EBADF, ENOENT, ...); a
// kernel request or a kernel interface file (/proc, /sys: a cgroup's limits, a sysctl) refused
// to root, which a wrong request is as well as a missing capability; EMFILE (Node raises its
// soft limit of descriptors to the hard one as it starts: a short command out of them leaked
// them); a call that is not a file's (a signal, a socket's connect) but for someone not root;
// EACCES or EPERM to root on a read or write with no path (a sysctl's, as likely); a file call
// made through libc rather than node:fs (an image layer's mknod or lsetxattr), for now.
import { dirname } from 'node:path';
import { AggregateStackError, KernelError, OperationFailure, UserError } from '../errors.js';
import { stateRoots } from '../state/paths.js';

/** Who runs stack and where its state is: what a hint may suggest. */
interface Seen {
  readonly root: boolean;
  /** The folders of stack's state (run, lib). */
  readonly state: readonly string[];
}

interface Refusal {
  readonly code: string;
  /** strerror's words, as a human reads them. */
  readonly what: string;
  /** `where`: the folder of the file the call was about, when it was about one. */
  readonly hint: (where: string | undefined, seen: Seen) => string;
}

/** Whether `where` is in stack's state, which STACK_ROOT can move. */
const inState = (where: string | undefined, seen: Seen): boolean => where !== undefined && seen.state.some((s) => where === s || where.startsWith(`${s}/`));

const FULL: (what: string) => Refusal = (what) => ({
  code: 'HOST_NO_SPACE',
  what,
  hint: (where, seen) =>
    `free space on the file system that holds ${where ?? 'the file'} (\`df -h\`, and \`df -i\`: each file takes an inode), then run the command again` +
    (inState(where, seen) ? "; STACK_ROOT puts stack's state on another file system" : ''),
});

/** The refusals of a file system's call, by errno. */
const FILE_REFUSALS: Readonly<Record<string, Refusal>> = {
  ENOSPC: FULL('no space left on device'),
  EDQUOT: FULL('disk quota exceeded'),
  EROFS: {
    code: 'HOST_READ_ONLY',
    what: 'read-only file system',
    hint: (where, seen) =>
      `${where ?? 'the file'} is on a file system mounted read-only: remount it read-write` + (inState(where, seen) ? ', or set STACK_ROOT to a folder on a writable one' : ''),
  },
  EIO: {
    code: 'HOST_IO_ERROR',
    what: 'input/output error',
    hint: (where) =>
      `the device that holds ${where ?? 'the file'} failed a read or a write (or, for a terminal, it hung up): \`dmesg\` says why; a file system may need a check`,
  },
  ENOTDIR: {
    code: 'HOST_NOT_A_FOLDER',
    what: 'not a directory',
    hint: (where, seen) => `a part of ${where ?? 'the path'} is a file where a folder is expected: ${inState(where, seen) ? 'check STACK_ROOT, or ' : ''}move that file away`,
  },
  EACCES: {
    code: 'HOST_PERMISSION_DENIED',
    what: 'permission denied, although stack runs as root',
    hint: (where, seen) =>
      `${where ?? 'the file'} refuses root: a read-only or root-squashed mount (NFS), or a security module (SELinux, AppArmor); \`ls -ld\` and the mount's options tell which` +
      (inState(where, seen) ? ", and STACK_ROOT moves stack's state elsewhere" : ''),
  },
};

const NO_DESCRIPTORS: Refusal = {
  code: 'HOST_NO_DESCRIPTORS',
  what: 'too many open files on this host',
  hint: () => 'the whole host is out of file descriptors (`cat /proc/sys/fs/file-nr`): end what holds them, or raise fs.file-max',
};
/** ENOSPC where it means no room in a kernel table, not on a disk. */
const NO_WATCHES: Refusal = {
  code: 'HOST_NO_WATCHES',
  what: "the host's limit of inotify watches is reached",
  hint: () => 'raise it (`sysctl fs.inotify.max_user_watches=524288`), or end what holds many watches, then run the command again',
};
const NO_CGROUPS: Refusal = {
  code: 'HOST_NO_CGROUPS',
  what: 'the kernel has no room for another cgroup',
  hint: () => 'too many cgroups, or removed ones the kernel still holds (`cat /proc/cgroups` counts them): end what made them, or reboot, then run the command again',
};
/** Permission refused to someone not root: the most common of all (no sudo). */
const NEEDS_ROOT: Refusal = {
  code: 'NEEDS_ROOT',
  what: 'permission denied',
  hint: () => 'stack makes namespaces, cgroups, links and mounts, and keeps its state where only root writes (/run/stack, /var/lib/stack): run it as root (`sudo stack ...`)',
};

/** node:fs's names of the calls it makes on files (an error's `syscall`), fs.watch's included. */
const FILE_CALLS = new Set([
  'open', 'read', 'write', 'close', 'mkdir', 'mkdtemp', 'rmdir', 'rm', 'rename', 'unlink', 'scandir', 'opendir', 'stat', 'lstat', 'fstat',
  'statfs', 'access', 'copyfile', 'cp', 'fsync', 'fdatasync', 'ftruncate', 'link', 'symlink', 'readlink', 'realpath', 'chmod', 'fchmod', 'lchmod',
  'chown', 'fchown', 'lchown', 'utime', 'futime', 'lutime', 'watch',
]);

/** The kernel's own files (a cgroup's interface files, sysctls): what they refuse is no disk's doing. */
const kernelFile = (path: string | undefined): boolean => path !== undefined && (path.startsWith('/sys/') || path.startsWith('/proc/'));

/** A call refused, as refusedCall reads it: the errno, the call for the message, and its file when it has one. */
interface Call {
  readonly errno: string;
  /** `open /var/lib/x`, `write /sys/fs/cgroup/... "1"`, `RTM_NEWLINK stk1a2b`. */
  readonly call: string;
  readonly path: string | undefined;
  /** A file system's call (node:fs), not a kernel request. */
  readonly file: boolean;
  /** The bare call's name (`mkdir`, `watch`, `inotify_add_watch`). */
  readonly name: string;
}

/** The refusal a call's errno means; undefined when it is a bug's. */
function refusalOf(c: Call, seen: Seen): Refusal | undefined {
  if ((c.errno === 'EACCES' || c.errno === 'EPERM') && !seen.root) return NEEDS_ROOT;
  if (c.errno === 'ENFILE') return NO_DESCRIPTORS;
  if (c.errno === 'ENOSPC' && (c.name === 'watch' || c.name.startsWith('inotify'))) return NO_WATCHES;
  if (c.errno === 'ENOSPC' && c.name === 'mkdir' && c.path?.startsWith('/sys/fs/cgroup/')) return NO_CGROUPS;
  if (!c.file || kernelFile(c.path)) return undefined; // a kernel request's or a kernel file's: a bug's as much as the host's
  // Refused to root on a write with no path (node:fs names none for a read or a write on a
  // descriptor): a sysctl's as likely as a file system's; told only with the file it opened.
  if ((c.errno === 'EACCES' || c.errno === 'EPERM') && c.path === undefined) return undefined;
  return FILE_REFUSALS[c.errno === 'EPERM' ? 'EACCES' : c.errno];
}

/** The call `e` was refused, when it is a system call's error: node:fs's, or a KernelError (around node:fs's, for the cgroup files). */
function callOf(e: unknown): Call | undefined {
  if (e instanceof KernelError) {
    const fs = nodeCall(e.cause);
    // `write /sys/fs/cgroup/x "1"`: the file is the call's second word (its cause's path is
    // none for a write on a descriptor).
    const named = /^(\S+) (\/\S*)/.exec(e.call);
    return { errno: e.errno, call: e.call, path: fs?.path ?? named?.[2], file: fs !== undefined, name: fs?.syscall ?? e.call.split(' ')[0]! };
  }
  const fs = nodeCall(e);
  if (fs === undefined) return undefined;
  return { errno: fs.code, call: fs.path !== undefined ? `${fs.syscall} ${fs.path}` : fs.syscall, path: fs.path, file: FILE_CALLS.has(fs.syscall), name: fs.syscall };
}

/** The code, call and path of an error a system call gave Node (`code` and `syscall` set). */
function nodeCall(e: unknown): { code: string; syscall: string; path: string | undefined } | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, syscall, path } = e as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string') return undefined;
  return { code, syscall, path: typeof path === 'string' ? path : undefined };
}

/** A failure told as the host's: its message, what the host refused, and the folder of the file it was about. */
interface Told {
  readonly message: string;
  readonly refusal: Refusal;
  readonly where: string | undefined;
}

/** One failure told: `e`, an operation's failure around it, or what caused either. */
function told(e: unknown, seen: Seen): Told | undefined {
  const call = callOf(e);
  const refusal = call && refusalOf(call, seen);
  if (call !== undefined && refusal !== undefined) {
    return { message: `${refusal.what}: ${call.call}`, refusal, where: call.path === undefined ? undefined : dirname(call.path) };
  }
  if (e instanceof KernelError || !(e instanceof Error) || e.cause === undefined || e instanceof AggregateStackError) return undefined;
  const inner = told(e.cause, seen);
  if (inner === undefined) return undefined;
  if (e instanceof OperationFailure) return { ...inner, message: `${e.subject}: ${inner.message}` };
  // A wrapper's own words kept (`cannot start the supervisor: `), the cause's said as the host's.
  const raw = e.cause instanceof Error ? e.cause.message : String(e.cause);
  // Its words up to the cause's, or up to its own `: ERRNO` (spawn.ts says `spawn X: ENFILE`).
  const own = e.message.endsWith(raw) ? e.message.slice(0, e.message.length - raw.length) : `${e.message.replace(/: E[A-Z0-9]+$/, '')}: `;
  return { ...inner, message: `${own}${inner.message}` };
}

/**
 * `e` as a UserError when the host refused it (every failure of it, for several: one a bug makes
 * the whole a bug, shown as such); undefined otherwise. UserErrors among several stay as they are.
 * `seen`: whether stack runs as root and where its state is (by default, this process's).
 */
export function hostRefusal(e: unknown, seen: Partial<Seen> = {}): UserError | undefined {
  if (e instanceof UserError) return undefined;
  const s: Seen = { root: seen.root ?? process.geteuid?.() === 0, state: seen.state ?? Object.values(stateRoots()) };
  if (e instanceof AggregateStackError) {
    const parts = e.errors.map((x) => (x instanceof UserError ? x : told(x, s)));
    if (parts.some((p) => p === undefined)) return undefined;
    const host = parts.find((p): p is Told => p !== undefined && !(p instanceof UserError));
    if (host === undefined) return undefined; // user errors only: not the host's doing
    return new UserError(host.refusal.code, `${e.summary}:\n  ${parts.map((p) => p!.message).join('\n  ')}`, host.refusal.hint(host.where, s), { cause: e });
  }
  const one = told(e, s);
  return one && new UserError(one.refusal.code, one.message, one.refusal.hint(one.where, s), { cause: e });
}

// A failure the host caused, not stack: a full or read-only file system, a quota, no file
// descriptors left, a disk that fails, a command run without root (or a file system that
// refuses root), a file where stack's state needs a folder. A system call refused so (Node's fs
// errors, the kernel requests' KernelError), however deep in a run's failures it was thrown, is
// told as a UserError: what was refused, where, and what to do, without the stack trace and the
// "this is a bug" that report.ts gives anything it does not know. Any other errno (EINVAL,
// EBADF, ENOENT, ...) stays a bug: stack asked for something wrong; so does a kernel request
// refused to root (EPERM), which may be a wrong request as well as a missing capability.
import { dirname } from 'node:path';
import { AggregateStackError, KernelError, OperationFailure, UserError } from '../errors.js';

interface Refusal {
  readonly code: string;
  /** strerror's words, as a human reads them. */
  readonly what: string;
  readonly hint: (where: string | undefined) => string;
}

const freeSpace = (where: string | undefined): string =>
  `free space on the file system that holds ${where ?? 'stack\'s state'} (\`df -h\`, and \`df -i\`: each file takes an inode), then run the command again; STACK_ROOT puts stack's state on another file system`;

const REFUSALS = {
  ENOSPC: { code: 'HOST_NO_SPACE', what: 'no space left on device', hint: freeSpace },
  EDQUOT: { code: 'HOST_NO_SPACE', what: 'disk quota exceeded', hint: freeSpace },
  EROFS: {
    code: 'HOST_READ_ONLY',
    what: 'read-only file system',
    hint: (where) => `${where ?? 'stack\'s state'} is on a file system mounted read-only: remount it read-write, or set STACK_ROOT to a folder on a writable one`,
  },
  EMFILE: { code: 'HOST_NO_DESCRIPTORS', what: 'too many open files in this process', hint: () => 'raise the limit of open files (`ulimit -n`), then run the command again' },
  ENFILE: {
    code: 'HOST_NO_DESCRIPTORS',
    what: 'too many open files on this host',
    hint: () => 'the whole host is out of file descriptors (`cat /proc/sys/fs/file-nr`): end what holds them, or raise fs.file-max',
  },
  EIO: {
    code: 'HOST_IO_ERROR',
    what: 'input/output error',
    hint: (where) => `the device that holds ${where ?? 'this file'} failed a read or a write: \`dmesg\` says why; the file system may need a check`,
  },
} satisfies Record<string, Refusal>;

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
/** A file system that refuses root itself. */
const ROOT_REFUSED: Refusal = {
  code: 'HOST_PERMISSION_DENIED',
  what: 'permission denied, although stack runs as root',
  hint: (where) =>
    `${where ?? 'the file'} refuses root: a read-only or root-squashed mount (NFS), or a security module (SELinux, AppArmor); \`ls -ld\` and the mount's options tell which, and STACK_ROOT moves stack's state elsewhere`,
};
const NOT_A_FOLDER: Refusal = {
  code: 'HOST_NOT_A_FOLDER',
  what: 'not a directory',
  hint: (where) => `a part of ${where ?? 'the path'} is a file where a folder is expected: check STACK_ROOT, or move that file away`,
};

/**
 * The refusal an errno of `call` means (`path`: the file of a file system call, `file`: whether
 * it was one, Node's fs; `root`: whether stack runs as root); undefined for a bug's errno.
 */
function refusalOf(errno: string, call: string, path: string | undefined, file: boolean, root: boolean): Refusal | undefined {
  if (errno === 'EACCES' || errno === 'EPERM') return !root ? NEEDS_ROOT : file ? ROOT_REFUSED : undefined;
  if (errno === 'ENOTDIR') return file ? NOT_A_FOLDER : undefined;
  if (errno === 'ENOSPC' && /^(inotify|watch)/.test(call)) return NO_WATCHES;
  if (errno === 'ENOSPC' && path?.startsWith('/sys/fs/cgroup/')) return NO_CGROUPS;
  // A kernel request (netlink, a mount) that says ENOSPC, EDQUOT or EROFS is not about a disk's room: left to report.ts.
  if (!file && ['ENOSPC', 'EDQUOT', 'EROFS'].includes(errno)) return undefined;
  return (REFUSALS as Readonly<Record<string, Refusal>>)[errno];
}

/** The refused call within `e`: Node's fs error (code, syscall, path) or a kernel request. */
interface Refused {
  readonly refusal: Refusal;
  /** `open /var/lib/x`, `RTM_NEWLINK stk1a2b`. */
  readonly call: string;
  /** The folder that holds the file the call was about, when it was about one. */
  readonly where: string | undefined;
}

function refusedCall(e: unknown, root: boolean): Refused | undefined {
  if (e instanceof KernelError) {
    // One made of a node:fs error (the cgroup files' calls, runtime/cgroup/io.ts) is a file system's.
    const fsCause = fsCall(e.cause);
    const refusal = refusalOf(e.errno, e.call, fsCause?.path, fsCause !== undefined, root);
    return refusal && { refusal, call: e.call, where: fsCause?.path === undefined ? undefined : dirname(fsCause.path) };
  }
  const call = fsCall(e);
  if (call === undefined) return undefined;
  const refusal = refusalOf(call.code, call.syscall, call.path, true, root);
  return refusal && { refusal, call: call.path !== undefined ? `${call.syscall} ${call.path}` : call.syscall, where: call.path !== undefined ? dirname(call.path) : undefined };
}

/** The code, call and path of an error node:fs threw. */
function fsCall(e: unknown): { code: string; syscall: string; path: string | undefined } | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, syscall, path } = e as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string') return undefined;
  return { code, syscall, path: typeof path === 'string' ? path : undefined };
}

/** One failure's message and its refusal: `e`, an operation's failure around it, or what caused either. */
function told(e: unknown, root: boolean): { message: string; refusal: Refusal; where: string | undefined } | undefined {
  const direct = refusedCall(e, root);
  if (direct !== undefined) return { message: `${direct.refusal.what}: ${direct.call}`, refusal: direct.refusal, where: direct.where };
  if (e instanceof OperationFailure) {
    const inner = told(e.cause, root);
    return inner && { ...inner, message: `${e.subject}: ${inner.message}` };
  }
  if (e instanceof Error && e.cause !== undefined && !(e instanceof AggregateStackError)) return told(e.cause, root);
  return undefined;
}

/**
 * `e` as a UserError when the host refused it (every failure of it, for several: one a bug makes
 * the whole a bug, shown as such); undefined otherwise. UserErrors among several stay as they are.
 */
export function hostRefusal(e: unknown, root: boolean = process.geteuid?.() === 0): UserError | undefined {
  if (e instanceof UserError) return undefined;
  if (e instanceof AggregateStackError) {
    const parts = e.errors.map((x) => (x instanceof UserError ? { message: x.message, user: x } : told(x, root)));
    if (parts.length === 0 || parts.some((p) => p === undefined)) return undefined;
    const first = parts.find((p) => p !== undefined && !('user' in p)) as ReturnType<typeof told>;
    if (first === undefined) return undefined; // user errors only: not the host's doing
    const title = e.message.split(':\n')[0]!; // AggregateStackError's own message, before its list
    return new UserError(first.refusal.code, `${title}:\n  ${parts.map((p) => p!.message).join('\n  ')}`, first.refusal.hint(first.where), { cause: e });
  }
  const one = told(e, root);
  return one && new UserError(one.refusal.code, one.message, one.refusal.hint(one.where), { cause: e });
}

// The C library's system calls the network layer and the runtime need (through koffi, loaded
// by sys/koffi.ts), typed, and throwing KernelError with the symbolic errno. koffi is loaded on
// first use, so importing this file (or anything above it) costs nothing to commands that
// never call it.
import type * as Koffi from 'koffi';
import { KernelError } from '../errors.js';
import { errnoName } from './errno.js';
import { callAsync, loadKoffi } from './koffi.js';
import { sinceStart } from './builtin.js';

/** Flags and constants of the calls below (x86-64/arm64 Linux values). */
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SOL_NETLINK = 270;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_CAP_ACK = 10;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const SO_RCVBUFFORCE = 33;
export const CLONE_NEWNET = 0x40000000;
export const O_RDONLY = 0;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_CLOEXEC = 0o2000000;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

type Fn = (...args: never[]) => number;

interface Bindings {
  koffi: typeof Koffi;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  fcntl: (fd: number, cmd: number, ...args: unknown[]) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, addrLen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  renameat2: (oldDir: number, oldPath: string, newDir: number, newPath: string, flags: number) => number;
  setns: (fd: number, nstype: number) => number;
  unshare: (flags: number) => number;
  mount: (source: string | null, target: string, fstype: string | null, flags: number, data: Buffer | null) => number;
  umount2: (target: string, flags: number) => number;
  open: (path: string, flags: number, modeType: 'uint32', mode: number) => number;
  getpid: () => number;
  gettid: () => number;
  flock: (fd: number, operation: number) => number;
  syscall: (number: number, ...args: unknown[]) => number;
  poll: (fds: Buffer, count: number, timeoutMs: number) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  mknod: (path: string, mode: number, dev: bigint) => number;
  socketpair: (domain: number, type: number, protocol: number, fds: Buffer) => number;
  eventfd: (initial: number, flags: number) => number;
  write: (fd: number, buf: Buffer, len: number) => number;
  read: (fd: number, buf: Buffer, len: number) => number;
  waitid: (idtype: number, id: number, info: Buffer, options: number) => number;
  sigemptyset: (set: Buffer) => number;
  sigfillset: (set: Buffer) => number;
  posixSpawnp: (pid: number[], file: string, actions: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]) => number;
  fileActionsInit: (actions: Buffer) => number;
  fileActionsDestroy: (actions: Buffer) => number;
  fileActionsAddDup2: (actions: Buffer, fd: number, newFd: number) => number;
  fileActionsAddChdir: ((actions: Buffer, path: string) => number) | undefined;
  spawnAttrInit: (attr: Buffer) => number;
  spawnAttrDestroy: (attr: Buffer) => number;
  spawnAttrSetFlags: (attr: Buffer, flags: number) => number;
  spawnAttrSetSigMask: (attr: Buffer, set: Buffer) => number;
  spawnAttrSetSigDefault: (attr: Buffer, set: Buffer) => number;
}

let bindings: Bindings | undefined;

/** A function the C library may lack (a GNU extension): undefined then. */
function optional<T>(bind: () => T): T | undefined {
  try {
    return bind();
  } catch {
    return undefined;
  }
}

function lib(): Bindings {
  if (bindings) return bindings;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  const f = <T extends Fn>(decl: string): T => c.func(decl) as unknown as T;
  bindings = {
    koffi,
    socket: f('int socket(int domain, int type, int protocol)'),
    bind: f('int bind(int fd, const void *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    connect: f('int connect(int fd, const void *addr, uint32_t len)'),
    fcntl: f('int fcntl(int fd, int cmd, ...)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
    sendto: f('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
    recv: f('intptr_t recv(int fd, _Inout_ void *buf, size_t len, int flags)'),
    close: f('int close(int fd)'),
    renameat2: f('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)'),
    setns: f('int setns(int fd, int nstype)'),
    unshare: f('int unshare(int flags)'),
    mount: f(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)',
    ),
    umount2: f('int umount2(const char *target, int flags)'),
    open: f('int open(const char *path, int flags, ...)'),
    getpid: f('int getpid()'),
    gettid: f('int gettid()'),
    flock: f('int flock(int fd, int operation)'),
    syscall: f('long syscall(long number, ...)'),
    poll: f('int poll(_Inout_ void *fds, unsigned long count, int timeout)'),
    lsetxattr: f('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: f('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    mknod: f('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    socketpair: f('int socketpair(int domain, int type, int protocol, _Out_ void *fds)'),
    eventfd: f('int eventfd(unsigned int initval, int flags)'),
    write: f('intptr_t write(int fd, const void *buf, size_t len)'),
    read: f('intptr_t read(int fd, _Out_ void *buf, size_t len)'),
    waitid: f('int waitid(int idtype, int id, _Out_ void *info, int options)'),
    sigemptyset: f('int sigemptyset(_Out_ void *set)'),
    sigfillset: f('int sigfillset(_Out_ void *set)'),
    posixSpawnp: f('int posix_spawnp(_Out_ int *pid, const char *file, const void *actions, const void *attr, const char **argv, const char **envp)'),
    fileActionsInit: f('int posix_spawn_file_actions_init(_Out_ void *actions)'),
    fileActionsDestroy: f('int posix_spawn_file_actions_destroy(void *actions)'),
    fileActionsAddDup2: f('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    fileActionsAddChdir: optional(() => f('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)')),
    spawnAttrInit: f('int posix_spawnattr_init(_Out_ void *attr)'),
    spawnAttrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
    spawnAttrSetFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
    spawnAttrSetSigMask: f('int posix_spawnattr_setsigmask(void *attr, const void *set)'),
    spawnAttrSetSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, const void *set)'),
  };
  return bindings;
}

/** Returns `ret`, or throws a KernelError naming `call` and the errno the C library set. */
function check(ret: number, call: () => string): number {
  if (ret >= 0) return ret;
  const errno = lib().koffi.errno();
  throw new KernelError(call(), errnoName(errno), errno);
}

/** socket(2). */
export function socket(domain: number, type: number, protocol: number): number {
  return check(lib().socket(domain, type, protocol), () => `socket(${domain}, ${type}, ${protocol})`);
}

/** bind(2) with a raw sockaddr. */
export function bind(fd: number, addr: Buffer): void {
  check(lib().bind(fd, addr, addr.length), () => `bind(fd ${fd})`);
}

/** listen(2). */
export function listen(fd: number, backlog: number): void {
  check(lib().listen(fd, backlog), () => `listen(fd ${fd})`);
}

/**
 * connect(2) of the non-blocking `fd` to a raw sockaddr: true once connected, false when it
 * would block (a Unix socket whose listener's queue is full: made again later, it is not in
 * progress as a TCP connect is). Throws a KernelError for anything else (ECONNREFUSED, ENOENT).
 */
export function connectNow(fd: number, addr: Buffer, what: () => string): boolean {
  for (;;) {
    if (lib().connect(fd, addr, addr.length) === 0) return true;
    const errno = lib().koffi.errno();
    if (errno === EAGAIN) return false;
    if (errno !== EINTR) throw new KernelError(what(), errnoName(errno), errno);
  }
}

/** Sets FD_CLOEXEC on `fd` (fcntl F_SETFD): a descriptor inherited through exec is not, and would pass on to every child. */
export function setCloexec(fd: number): void {
  const F_SETFD = 2;
  const FD_CLOEXEC = 1;
  check(lib().fcntl(fd, F_SETFD, 'int', FD_CLOEXEC), () => `fcntl(fd ${fd}, F_SETFD, FD_CLOEXEC)`);
}

/** Sets O_NONBLOCK on `fd` (fcntl F_SETFL): this process's end of a socket pair, read and written as it turns ready. */
export function setNonBlocking(fd: number): void {
  const F_GETFL = 3;
  const F_SETFL = 4;
  const O_NONBLOCK = 0o4000;
  const flags = check(lib().fcntl(fd, F_GETFL, 'int', 0), () => `fcntl(fd ${fd}, F_GETFL)`);
  check(lib().fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK), () => `fcntl(fd ${fd}, F_SETFL, O_NONBLOCK)`);
}

/** fcntl F_DUPFD_CLOEXEC: a close-on-exec copy of `fd` numbered `min` or above. */
export function dupAbove(fd: number, min: number): number {
  const F_DUPFD_CLOEXEC = 1030;
  return check(lib().fcntl(fd, F_DUPFD_CLOEXEC, 'int', min), () => `fcntl(fd ${fd}, F_DUPFD_CLOEXEC, ${min})`);
}

/** setsockopt(2) with a raw option value. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer): void {
  check(lib().setsockopt(fd, level, name, value, value.length), () => `setsockopt(fd ${fd}, ${level}, ${name})`);
}

/** setsockopt(2) of an int option. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  setsockopt(fd, level, name, Buffer.from(new Int32Array([value]).buffer));
}

/** sendto(2) of a whole buffer to a raw sockaddr (or the connected peer); returns bytes sent. */
export function sendto(fd: number, buf: Buffer, addr: Buffer | null, call: () => string): number {
  return check(lib().sendto(fd, buf, buf.length, 0, addr, addr?.length ?? 0), call);
}

/**
 * sendto(2) made on one of libuv's threads (koffi's async call), for a request the kernel
 * carries out inside the call for long: a netlink deletion of a bridge waits for RCU grace
 * periods (~60 ms), which then no longer hold up this thread. errno is the worker thread's, so a
 * failed send is made once more here, synchronously, to report it (a send that fails delivers
 * nothing: the request is not made twice).
 */
export async function sendtoOffThread(fd: number, buf: Buffer, addr: Buffer | null, call: () => string): Promise<number> {
  const ret = await offThread(lib().sendto, fd, buf, buf.length, 0, addr, addr?.length ?? 0);
  return ret >= 0 ? ret : sendto(fd, buf, addr, call);
}

/** `fn(...args)` through koffi's async call, on one of libuv's threads; resolves with what it returned (errno is that thread's). */
function offThread(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    onThread(fn, args, (error, ret) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(ret);
    });
  });
}

/** `fn(...args)` on one of libuv's threads (koffi's async call, counted: koffi.ts callAsync); `done` gets what it returned. Throws when koffi takes no more asynchronous calls. */
function onThread(fn: Fn, args: readonly unknown[], done: (error: unknown, ret: number) => void): void {
  callAsync((settle) => (fn as unknown as { async: (...args: unknown[]) => void }).async(...args, settle), done);
}

/** recv(2) into `buf`; returns the datagram's length (its full length with MSG_TRUNC). */
export function recv(fd: number, buf: Buffer, flags: number, call: () => string): number {
  return check(lib().recv(fd, buf, buf.length, flags), call);
}

/** close(2); a close that fails is reported, since it means a bookkeeping bug. */
export function close(fd: number): void {
  check(lib().close(fd), () => `close(fd ${fd})`);
}

/** close(2) on one of libuv's threads (koffi's async call), for a descriptor whose release waits in the kernel; rejects as close() throws. */
export async function closeOffThread(fd: number): Promise<void> {
  // errno is the worker thread's: a failed close (EBADF, a bookkeeping bug) is named without it.
  if ((await offThread(lib().close, fd)) < 0) throw new Error(`close(fd ${fd}) failed`);
}

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

/**
 * renameat2(2) with RENAME_EXCHANGE: `a` and `b` swap places in one step. False, with nothing
 * changed, when it did not: `b` does not exist (ENOENT), the filesystem cannot exchange
 * (EINVAL), a seccomp profile refuses renameat2 (EPERM, ENOSYS), or anything else; the caller
 * renames then, and that rename reports a real failure. ext4 treats a rename over an existing
 * file as a replace whose new data must reach the disk first (auto_da_alloc starts its writeback
 * inside the rename): 0.20-0.27 ms a record there, against 0.07-0.10 for an exchange and the
 * unlink of what it swapped out (measured on this machine's ext4, 1.5 KB records; the same on tmpfs).
 */
export function exchangePaths(a: string, b: string): boolean {
  return lib().renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) === 0;
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, what: string): void {
  check(lib().setns(fd, nstype), () => `setns(${what})`);
}

/** unshare(2) of the calling thread. */
export function unshare(flags: number, what: string): void {
  check(lib().unshare(flags), () => `unshare(${what})`);
}

/** mount(2), with the file system's own options as `data` (a tmpfs's `size=64m,mode=0755`) when given. */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string): void {
  const call = (): string => `mount ${source ?? 'none'} on ${target} (flags 0x${flags.toString(16)}${data ? `, ${data}` : ''})`;
  check(lib().mount(source, target, fstype, flags, data ? Buffer.from(`${data}\0`) : null), call);
}

/** umount2(2). */
export function umount2(target: string, flags: number): void {
  check(lib().umount2(target, flags), () => `umount ${target}`);
}

/** open(2) by the calling thread (so /proc/thread-self is this thread). */
export function open(path: string, flags: number, mode = 0): number {
  return check(lib().open(path, flags, 'uint32', mode), () => `open ${path}`);
}

/** getpid(2). */
export function getpid(): number {
  return lib().getpid();
}

/** gettid(2): the calling thread's id (differs from the pid in worker threads). */
export function gettid(): number {
  return lib().gettid();
}

/** flock(2): an advisory lock the kernel drops when its holder dies (per-project locks). */
export function flock(fd: number, operation: number, what: string): void {
  check(lib().flock(fd, operation), () => `flock(${what})`);
}

/** syscall(2) with int arguments, for calls the C library has no wrapper for (pidfd.ts). */
export function syscall(number: number, args: readonly number[], call: () => string): number {
  const typed = args.flatMap((a) => ['long', a]);
  return check(lib().syscall(number, ...typed), call);
}

/** The errno of a KernelError thrown by these calls (`ESRCH`), or undefined for anything else. */
export function kernelErrno(e: unknown): string | undefined {
  return e instanceof KernelError ? e.errno : undefined;
}

/** Bits of struct pollfd's events and revents. */
export const POLLIN = 1;
export const POLLOUT = 4;
export const POLLERR = 8;
/** errno of a call cut short by a signal handler. */
const EINTR = 4;
/** errno of a wait for a process that is no child (any longer). */
const ECHILD = 10;

/** An array of struct pollfd for `entries` (descriptor, events). */
function pollfds(entries: readonly (readonly [number, number])[]): Buffer {
  const buf = Buffer.alloc(8 * entries.length);
  entries.forEach(([fd, events], i) => {
    buf.writeInt32LE(fd, 8 * i);
    buf.writeInt16LE(events, 8 * i + 4);
  });
  return buf;
}

/** The revents of entry `i` of a pollfds() array after the poll. */
const revents = (buf: Buffer, i: number): number => buf.readInt16LE(8 * i + 6);

/**
 * poll(2) of one descriptor for `events`; returns revents (0 when `timeoutMs` passed). A poll
 * cut short by a signal is made again for the time left: poll is never restarted after a
 * handler, and Node has handlers (SIGCHLD once a child was spawned; SIGPROF under --cpu-prof).
 * Even a poll of timeout 0 fails with EINTR when a signal is pending.
 */
export function pollOne(fd: number, events: number, timeoutMs: number, what: string): number {
  const pollfd = pollfds([[fd, events]]);
  const deadline = sinceStart() + timeoutMs;
  for (;;) {
    const left = timeoutMs <= 0 ? timeoutMs : Math.max(0, Math.ceil(deadline - sinceStart()));
    const ret = lib().poll(pollfd, 1, left);
    if (ret < 0 && lib().koffi.errno() === EINTR) continue;
    const n = check(ret, () => `poll(${what})`);
    return n === 0 ? 0 : revents(pollfd, 0);
  }
}

/** lsetxattr(2): sets `name` on `path` itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(lib().lsetxattr(path, name, value, value.length, 0), () => `lsetxattr ${name} on ${path}`);
}

/** lgetxattr(2) into `value` (null: just the size); returns the value's length. */
export function lgetxattrInto(path: string, name: string, value: Buffer | null): number {
  return check(lib().lgetxattr(path, name, value, value?.length ?? 0), () => `lgetxattr ${name} on ${path}`);
}

/** mknod(2) with a raw mode (file type and permission bits) and device number. */
export function mknod(path: string, mode: number, dev: bigint, call: () => string): void {
  check(lib().mknod(path, mode, dev), call);
}

/** socketpair(2) of connected stream sockets, both ends close-on-exec. */
export function socketPair(what: string): [number, number] {
  const fds = Buffer.alloc(8);
  check(lib().socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | SOCK_CLOEXEC, 0, fds), () => `socketpair(${what})`);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** How a reaped child ended: its exit code, or the signal that killed it. */
export interface ChildStatus {
  readonly code: number | null;
  readonly signal: number | null;
}

/**
 * waitid(2) of the child `pid`, without blocking: its status when it has exited (it is reaped
 * then), undefined while it runs. Only this process's own child: its pid cannot have been reused
 * while it is not reaped.
 */
export function reapChild(pid: number, what: string): ChildStatus | undefined {
  const info = Buffer.alloc(128); // siginfo_t
  for (;;) {
    const ret = lib().waitid(1 /* P_PID */, pid, info, 4 /* WEXITED */ | 1 /* WNOHANG */);
    if (ret >= 0) break;
    const errno = lib().koffi.errno();
    if (errno === EINTR) continue;
    if (errno === ECHILD) return { code: null, signal: null }; // reaped already (SIGCHLD ignored): gone, how is not known
    check(ret, () => `waitid(${what})`);
  }
  if (info.readInt32LE(16) === 0) return undefined; // si_pid 0: not exited yet
  const code = info.readInt32LE(8); // si_code: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3
  const status = info.readInt32LE(24);
  return code === 1 ? { code: status, signal: null } : { code: null, signal: status };
}

/** What posixSpawn runs and how. */
export interface SpawnRequest {
  /** A path, or a name looked up on this process's PATH (posix_spawnp; child_process would use `env`'s). */
  readonly file: string;
  readonly argv: readonly string[];
  /** `NAME=value` entries. */
  readonly env: readonly string[];
  /** The child's working directory (this process's when absent). */
  readonly cwd?: string;
  /** Descriptors of this process that become the child's 0, 1, 2 (and 3, 4, … when more are given). */
  readonly stdio: readonly number[];
  /** A session of its own (setsid), as child_process's `detached`. */
  readonly newSession?: boolean;
}

const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

/** Whether posixSpawn can honour a working directory (glibc 2.29+, musl 1.1.24+). */
export function canSpawnInDirectory(): boolean {
  return lib().fileActionsAddChdir !== undefined;
}

/**
 * posix_spawnp(3): the child runs on this process's memory until it execs (glibc: clone with
 * CLONE_VM|CLONE_VFORK), so nothing of this process is copied. Every signal starts at its default
 * disposition and unblocked in the child (Node ignores SIGPIPE; a program must not inherit that),
 * as libuv does for child_process. Called through koffi's async call, on one of libuv's threads:
 * the caller's thread is not held while the child runs on this process's memory until it execs
 * (~2.4 ms a launcher here, median of 20: 46 ms of the CLI's thread for the 20 launchers of an
 * `up -d` of 20). Resolves with the pid; rejects with a KernelError (ENOENT, EACCES: the exec
 * failed, and glibc reaped that child).
 */
export function posixSpawn(request: SpawnRequest): Promise<number> {
  // A throw in the executor (spawnCall's set-up) rejects the promise.
  return new Promise<number>((resolve, reject) => {
    const call = spawnCall(request);
    const pid = [0];
    const done = (error: unknown, ret: number): void => {
      call.destroy(); // after the call: its file actions and attributes were in use until then
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (ret !== 0) reject(call.failure(ret));
      else resolve(pid[0]!);
    };
    try {
      onThread(lib().posixSpawnp, [pid, ...call.args], done);
    } catch (e) {
      call.destroy();
      throw e;
    }
  });
}

/** The file actions and attributes of a posix_spawnp call, the rest of its arguments, and their destruction. */
function spawnCall(request: SpawnRequest) {
  const c = lib();
  const actions = Buffer.alloc(256); // posix_spawn_file_actions_t: 80 bytes on glibc x86-64
  const attr = Buffer.alloc(1024); // posix_spawnattr_t: 336
  const what = (): string => `posix_spawn ${request.file}`;
  const failure = (ret: number): KernelError => new KernelError(what(), errnoName(ret), ret);
  const fail = (ret: number): void => {
    if (ret !== 0) throw failure(ret);
  };
  fail(c.fileActionsInit(actions));
  let attrMade = false;
  const copies: number[] = [];
  const copied = (fd: number): number => (copies.push(fd), fd);
  const destroy = (): void => {
    if (attrMade) c.spawnAttrDestroy(attr);
    c.fileActionsDestroy(actions);
    for (const fd of copies.splice(0)) {
      try {
        close(fd);
      } catch {
        // a copy of ours: only EBADF could fail it, and then there is nothing left to close
      }
    }
  };
  try {
    fail(c.spawnAttrInit(attr));
    attrMade = true;
    // dup2 actions run in order: a descriptor that is also a later action's target would be
    // overwritten before it is read. Those are copied above every target first (close-on-exec
    // copies, closed after the call), and so is one that is its own target past 2 (a dup2 onto
    // itself clears close-on-exec only since glibc 2.29).
    const sources = request.stdio.map((fd, i) => (fd < request.stdio.length && (fd !== i || i > 2) ? copied(dupAbove(fd, request.stdio.length)) : fd));
    sources.forEach((fd, i) => fail(c.fileActionsAddDup2(actions, fd, i)));
    if (request.cwd !== undefined) {
      if (c.fileActionsAddChdir === undefined) throw new KernelError(`${what()} in ${request.cwd}`, 'ENOSYS', 38);
      fail(c.fileActionsAddChdir(actions, request.cwd));
    }
    const all = Buffer.alloc(128);
    const none = Buffer.alloc(128);
    c.sigfillset(all);
    c.sigemptyset(none);
    fail(c.spawnAttrSetSigDefault(attr, all));
    fail(c.spawnAttrSetSigMask(attr, none));
    fail(c.spawnAttrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (request.newSession ? POSIX_SPAWN_SETSID : 0)));
  } catch (e) {
    destroy();
    throw e;
  }
  const args: [string, Buffer, Buffer, (string | null)[], (string | null)[]] = [request.file, actions, attr, [...request.argv, null], [...request.env, null]];
  return { args, failure, destroy };
}

/** An eventfd(2), close-on-exec and non-blocking: a counter another thread's poll can wait on. */
export function eventFd(what: string): number {
  return check(lib().eventfd(0, 0o2000000 /* EFD_CLOEXEC */ | 0o4000 /* EFD_NONBLOCK */), () => `eventfd(${what})`);
}

/** Adds one to an eventfd (wakes whoever polls it). */
export function eventFdSignal(fd: number): void {
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(1n);
  lib().write(fd, one, 8); // a full counter (2^64 - 2 wakes pending) has woken its poller anyway
}

/** errno of a non-blocking call that would have blocked. */
const EAGAIN = 11;

/** read(2) or write(2) of the non-blocking `fd` and `buf`: its count, or undefined for EAGAIN; made again after EINTR. */
function nonBlocking(call: (fd: number, buf: Buffer, len: number) => number, fd: number, buf: Buffer, what: () => string): number | undefined {
  for (;;) {
    const n = call(fd, buf, buf.length);
    if (n >= 0) return n;
    const errno = lib().koffi.errno();
    if (errno === EAGAIN) return undefined;
    if (errno !== EINTR) return check(n, what);
  }
}

/**
 * read(2) of the non-blocking `fd` into `buf`: the bytes read (0 at the end of the stream), or
 * undefined when nothing is there yet (EAGAIN). Throws a KernelError for anything else.
 */
export function readSome(fd: number, buf: Buffer, what: () => string): number | undefined {
  return nonBlocking(lib().read, fd, buf, what);
}

/**
 * write(2) of `buf` to the non-blocking `fd`: the bytes written, or undefined when there is no
 * room yet (EAGAIN). Throws a KernelError for anything else (EPIPE: no one reads any more).
 */
export function writeSome(fd: number, buf: Buffer, what: () => string): number | undefined {
  return nonBlocking(lib().write, fd, buf, what);
}

/** Empties an eventfd (non-blocking: nothing to read is no error). */
export function eventFdDrain(fd: number): void {
  lib().read(fd, Buffer.alloc(8), 8);
}

/** The longest one poll of pollOneOffThread holds a thread of libuv's pool. */
const POLL_SLICE_MS = 100;

/**
 * poll(2) of one descriptor for `events` on one of libuv's threads, for at most `timeoutMs`:
 * resolves its revents, 0 once the time is up. Polled in slices of at most 100 ms, so that the
 * pool's thread is given back between them (other jobs queued meanwhile go first; Node's exit
 * waits for a thread's job) and a slice that waited in the queue is not counted twice; a timer
 * ends the wait at its time even when no thread took it. A poll cut short by a signal is made
 * again. The caller may close the descriptor once this resolved: a slice still under way then
 * only watches it, or whatever reuses its number, until its end, and is not heard.
 */
export function pollOneOffThread(fd: number, events: number, timeoutMs: number): Promise<number> {
  const deadline = sinceStart() + timeoutMs;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(() => settle(() => resolve(0)), Math.max(0, timeoutMs));
    const failed = (error: unknown): void => settle(() => reject(error instanceof Error ? error : new Error(String(error))));
    let failures = 0;
    const once = (): void => {
      const buf = pollfds([[fd, events]]);
      const left = Math.max(0, Math.ceil(deadline - sinceStart()));
      try {
        onThread(lib().poll, [buf, 1, Math.min(POLL_SLICE_MS, left)], (error, ret) => {
          if (settled) return;
          if (error) return failed(error);
          if (ret > 0) return settle(() => resolve(revents(buf, 0)));
          if (ret < 0) {
            // A signal that thread took, most likely (its errno is gone with it): made again,
            // a few times, then said; never a loop of failing polls until the deadline.
            if (++failures > 3) return failed(new Error(`poll(fd ${fd}) failed ${failures} times`));
          } else failures = 0;
          if (sinceStart() >= deadline) return settle(() => resolve(0));
          once();
        });
      } catch (e) {
        failed(e); // koffi refuses more asynchronous calls than it has slots for
      }
    };
    once();
  });
}

/**
 * poll(2) of `entries` (descriptor, events) on one of libuv's threads (koffi's async call), with
 * no timeout: `done` gets each entry's revents, in order, or undefined when the call failed
 * (EINTR: a signal that thread took). The thread is held until one of them is ready.
 */
export function pollOffThread(entries: readonly (readonly [number, number])[], done: (revents: number[] | undefined) => void): void {
  const buf = pollfds(entries);
  onThread(lib().poll, [buf, entries.length, -1], (error, ret) => {
    if (error || ret <= 0) return done(undefined);
    done(entries.map((_, i) => revents(buf, i)));
  });
}

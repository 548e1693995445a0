// Starting a program without forking this process (issue 11). child_process.spawn forks Node:
// on this 2-core kind each spawn held the CLI's only thread 5.3-6.0 ms (at 50 to 130 MB of RSS).
// posix_spawn does not fork (glibc's child runs on this process's memory until it execs), and
// it runs on one of libuv's threads (koffi's async call), so the CLI's thread is held ~0.2 ms
// (socket pairs, the call's set-up) where a synchronous posix_spawn held it ~2.4 ms; `up -d` of 20
// services spawns 20 launchers (and iptables, on a host whose FORWARD policy is DROP).
//
// What it gives is the part of a ChildProcess stack uses: the pid, its stdin, stdout and stderr
// as this process's ends of three socket pairs (as libuv makes for stdio 'pipe'), non-blocking
// descriptors read and written as they turn ready (fd-io.ts; no stream: node:net and the
// streams cost ~3 ms of every `up`), the exit (`exit` event, exitCode, signalCode), kill() and
// unref(). A SIGCHLD listener, there only while such a child runs or is being spawned, reaps
// those of them that ended (waitid of each of their pids: never another child of this process,
// so child_process's own are left to libuv). A child not unref()'d keeps the event loop alive
// until it is reaped, as child_process does. spawnDetached starts a daemon (the supervisor) the
// same way: no pipes, its descriptors given, never keeping this process alive; the SIGCHLD
// listener then stays until it is reaped, as libuv's stayed for an unref()'d ChildProcess;
// without koffi or posix_spawn's chdir (a C library before glibc 2.29) it falls back to
// child_process.spawn.
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import { childProcess } from './builtin.js';
import { spawnIntoCgroup } from './native-spawn.js';
import { canSpawnInDirectory, close, posixSpawn, reapChild, setNonBlocking, socketPair, type ChildStatus, type SpawnRequest } from './libc.js';

/** A child of spawnPiped: the subset of a ChildProcess stack uses, its stdio as descriptors. */
export interface PipedChild {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  /** Whether it has exited (and was reaped): true even when how is not known. */
  readonly exited: boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  kill(signal?: NodeJS.Signals | number): boolean;
  /** This child no longer keeps the event loop alive. */
  unref(): void;
  /** Its stdin's end here, and its stdout's and stderr's: non-blocking, close-on-exec, the caller's to close. */
  readonly stdin: number;
  readonly stdout: number;
  readonly stderr: number;
}

export interface SpawnOptions {
  /** Its environment (this process's when absent). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** A session of its own (setsid). */
  readonly detached?: boolean;
  /**
   * A cgroup v2 folder (made by the caller) the child is born in, never moved to (native-spawn.ts);
   * where it cannot be, the child is spawned where this process is and `file` places itself.
   */
  readonly cgroup?: string;
}

const signalNames = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

class PosixChild extends EventEmitter implements PipedChild {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  exited = false;
  refed = true;
  constructor(
    readonly pid: number,
    readonly stdin: number,
    readonly stdout: number,
    readonly stderr: number,
  ) {
    super();
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.exited) return false; // reaped: the pid may be another's now
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  unref(): void {
    this.refed = false;
    keepAlive();
  }

  ended(status: ChildStatus): void {
    this.exited = true;
    this.exitCode = status.code;
    this.signalCode = status.signal === null ? null : (signalNames.get(status.signal) ?? null);
    this.emit('exit', this.exitCode, this.signalCode);
  }
}

/** What reaping a child tells its owner, and whether that child keeps the event loop alive. */
interface Reaped {
  readonly refed: boolean;
  ended(status: ChildStatus): void;
}

/** The children of posix_spawn not reaped yet, by pid. */
const running = new Map<number, Reaped>();
/** Spawns under way (posix_spawn not returned yet): the SIGCHLD listener stays while there are any. */
let spawning = 0;
/** Holds the event loop open while a child not unref()'d runs (a SIGCHLD listener does not). */
let holder: NodeJS.Timeout | undefined;

function keepAlive(): void {
  const wanted = [...running.values()].some((c) => c.refed);
  if (wanted && holder === undefined) holder = setInterval(() => undefined, 1 << 30);
  if (!wanted && holder !== undefined) {
    clearInterval(holder);
    holder = undefined;
  }
}

/** Reaps every child of posixSpawn that has ended (on SIGCHLD). */
function reap(): void {
  if (running.size === 0) return;
  const ended: [Reaped, ChildStatus][] = [];
  for (const [pid, child] of running) {
    const status = reapChild(pid, `pid ${pid}`);
    if (status === undefined) continue;
    running.delete(pid);
    ended.push([child, status]);
  }
  if (running.size === 0 && spawning === 0) process.off('SIGCHLD', reap);
  keepAlive();
  for (const [child, status] of ended) child.ended(status);
}

let usable: boolean | undefined;

function posixUsable(options: SpawnOptions): boolean {
  if (process.platform !== 'linux') return false;
  try {
    usable ??= (canSpawnInDirectory(), true);
  } catch {
    usable = false; // koffi cannot be loaded here
  }
  return usable && (options.cwd === undefined || canSpawnInDirectory());
}

/**
 * Runs `file` (a path, or a name on this process's PATH) with `args`, its stdio three socket
 * pairs whose ends here the caller reads and writes (fd-io.ts) and closes. posix_spawn runs on
 * one of libuv's threads (libc.ts posixSpawn): it holds its thread until the child execs, and
 * the caller's goes on meanwhile. Rejects with an Error with `code` ENOENT or EACCES when `file`
 * cannot be run (posix_spawn reports the exec's failure), ENOSYS without koffi (or without
 * posix_spawn's chdir, for `cwd`). A net.Socket an end cost the CLI's thread ~1 ms each at
 * first, and node:net with the streams it loads ~2 ms more, in every `up` (three a launcher).
 */
export async function spawnPiped(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<PipedChild> {
  if (!posixUsable(options)) throw Object.assign(new Error(`spawn ${file}: posix_spawn cannot be called here`), { code: 'ENOSYS', path: file });
  const { pairs, request } = spawnRequest(file, args, options);
  const pid = await spawned(request, () => pairs.forEach((pair) => pair.forEach((fd) => close(fd))), options.cgroup);
  for (const pair of pairs) close(pair[1]); // the child's ends: it has them now
  const [stdin, stdout, stderr] = pairs.map((pair) => pair[0]) as [number, number, number];
  try {
    for (const fd of [stdin, stdout, stderr]) setNonBlocking(fd);
  } catch (e) {
    // Only EBADF could fail it: the descriptors are this function's own. The child is reaped.
    for (const fd of [stdin, stdout, stderr]) close(fd);
    reapedUnheeded(pid);
    throw e;
  }
  const child = new PosixChild(pid, stdin, stdout, stderr);
  running.set(pid, child);
  keepAlive();
  // A SIGCHLD of it may have come before it was registered (one that died at once): looked for
  // on a later turn, as a SIGCHLD's reaping is, so the caller has its 'exit' listener by then.
  setImmediate(reap);
  return child;
}

/**
 * Starts `file` with `args` in a session of its own, its descriptors 0, 1, 2, … this process's
 * `fds`, and resolves to its pid; nothing of it keeps this process running (a daemon: the
 * supervisor). posix_spawn on one of libuv's threads, as spawnPiped: a fork of Node held the
 * caller's thread 7-10 ms at the end of every `up` that started a supervisor. It is reaped
 * should it end while this process runs, so its pid never names a zombie here.
 */
export async function spawnDetached(
  file: string,
  args: readonly string[],
  options: {
    readonly fds: readonly number[];
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly cwd?: string;
    readonly cgroup?: string;
    /** Told how it ended, should it end while this process runs (never otherwise). */
    readonly onExit?: (status: ChildStatus) => void;
  },
): Promise<number> {
  if (!posixUsable(options)) {
    const { spawn } = childProcess();
    const child = spawn(file, [...args], { detached: true, stdio: [...options.fds], ...(options.cwd !== undefined && { cwd: options.cwd }), env: options.env as NodeJS.ProcessEnv });
    child.unref();
    const { onExit } = options;
    if (onExit !== undefined) child.once('exit', (code, signal) => onExit({ code, signal: signal === null ? null : osConstants.signals[signal] }));
    if (child.pid !== undefined) return child.pid;
    // Not started: child_process says why a moment later.
    return new Promise((_resolve, reject) => child.once('error', reject));
  }
  const request = { file, argv: [file, ...args], env: environment(options.env), stdio: options.fds, newSession: true, ...(options.cwd !== undefined && { cwd: options.cwd }) };
  const pid = await spawned(request, undefined, options.cgroup);
  reapedUnheeded(pid, options.onExit);
  return pid;
}

/**
 * Child `pid` is reaped when it ends (its pid never names a zombie here); nothing is kept alive
 * by it, and only `onExit` is told. One that ended before it was in the table is looked for on a
 * later turn.
 */
function reapedUnheeded(pid: number, onExit: (status: ChildStatus) => void = () => undefined): void {
  running.set(pid, { refed: false, ended: onExit });
  setImmediate(reap);
}

/** The child's three socket pairs and the posix_spawn request of `file` with `args`. */
function spawnRequest(file: string, args: readonly string[], options: SpawnOptions): { pairs: [number, number][]; request: SpawnRequest } {
  const pairs: [number, number][] = [];
  try {
    for (const name of ['stdin', 'stdout', 'stderr']) pairs.push(socketPair(`${name} of ${file}`));
  } catch (e) {
    for (const pair of pairs) pair.forEach((fd) => close(fd));
    throw e;
  }
  const request: SpawnRequest = {
    file,
    argv: [file, ...args],
    env: environment(options.env ?? process.env),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    stdio: [pairs[0]![1], pairs[1]![1], pairs[2]![1]],
    ...(options.detached === true && { newSession: true }),
  };
  return { pairs, request };
}

/** `NAME=value` entries of an environment (unset names left out). */
function environment(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
}

/**
 * posixSpawn (or, with `cgroup`, spawnIntoCgroup where it can) with the SIGCHLD listener there
 * while it runs (the caller registers the pid for reaping next). A spawn that failed runs
 * `failed` (what was made for it) and rejects with an Error whose `code` is the errno (ENOENT,
 * EACCES).
 */
async function spawned(request: SpawnRequest, failed: () => void = () => undefined, cgroup?: string): Promise<number> {
  if (running.size === 0 && spawning === 0) process.on('SIGCHLD', reap);
  spawning++;
  let pid: number;
  try {
    pid = (cgroup !== undefined ? await spawnIntoCgroup(request, cgroup) : undefined) ?? (await posixSpawn(request));
  } catch (e) {
    spawning--;
    if (running.size === 0 && spawning === 0) process.off('SIGCHLD', reap);
    failed();
    const errno = (e as { errno?: string }).errno;
    throw Object.assign(new Error(`spawn ${request.file}: ${errno ?? String(e)}`, { cause: e }), { code: errno, path: request.file });
  }
  spawning--;
  return pid;
}


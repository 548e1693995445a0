// Runs a command inside a running service (healthchecks, `stack exec`): native/build/exec
// enters the service's namespaces, cgroups and root as its user and capabilities, and execs
// the command (native/exec.c). No Node code ever enters a namespace: Node only spawns the
// helper, feeds it the request and either collects the command's output and exit
// (execInService) or leaves the user's stdio to it (execAttached: `stack exec`).
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { KernelError, UserError } from '../errors.js';
import { childProcess } from '../sys/builtin.js';
import type { SeccompChoice, Service } from '../spec/project.js';
import { ALL_CAPABILITIES, capabilityMask, serviceCapabilities } from './caps.js';
import { encodeLaunchRequest } from './launcher-config.js';
import { DEFAULT_SEARCH_PATH } from './search-path.js';
import { isSameProcess } from './proc.js';
import { cgroupPaused } from '../state/probe.js';
import { compiledSeccompPairs, seccompRequestPairs, serviceSeccomp } from './seccomp/index.js';
import { loadUserDb, resolveUser, type UserDb } from './user.js';

/** The helper built by `npm run build` (scripts/build-native.mjs). */
export const EXEC_HELPER_PATH = fileURLToPath(new URL('../../native/build/exec', import.meta.url));

/** What of a service's spec an exec inherits: its environment, user, capabilities, folder. */
export type ExecService = Pick<Service, 'name' | 'environment' | 'user' | 'capAdd' | 'capDrop' | 'workingDir'> & {
  /** An image service's image: its user as the image resolved it (`--user` then resolves in the image's userDb). */
  readonly imageRoot?: Service['imageRoot'];
  readonly privileged?: boolean;
  readonly seccomp?: SeccompChoice;
};

/** A running service to exec in: its spec, its main process (pid + start time) and its cgroups. */
export interface ExecTarget {
  readonly service: ExecService;
  readonly pid: number;
  readonly startTime: number;
  readonly cgroupDirs: readonly string[];
}

/** The target for a service record (its main process and cgroups) and its spec; undefined when it runs nothing. */
export function execTargetOf(
  record: { readonly process: { readonly pid: number; readonly startTime: number } | null; readonly cgroups: readonly string[] },
  service: ExecService,
): ExecTarget | undefined {
  if (!record.process) return undefined;
  return { service, pid: record.process.pid, startTime: record.process.startTime, cgroupDirs: record.cgroups };
}

/** How to run the command. */
export interface ExecOptions {
  /** Added to (and overriding) the service's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** `user:` syntax; default the service's user. For an image service, pass the image's users in `userDb`. */
  readonly user?: string;
  /** Default the service's working_dir, else `/`. */
  readonly workingDir?: string;
  /** Every capability (compose's `exec --privileged`) instead of the service's set. */
  readonly privileged?: boolean;
  /** The command's process group is killed when it runs longer (0 or absent: no limit). */
  readonly timeoutMs?: number;
  /** Aborting kills the command (SIGTERM to its process group, then the helper). */
  readonly signal?: AbortSignal;
  /** Bytes kept of each of stdout and stderr (the start is kept); default 1 MiB. */
  readonly maxOutputBytes?: number;
  readonly userDb?: UserDb;
  readonly helperPath?: string;
}

/** How the command ended and what it wrote. */
export interface ExecResult {
  /** Exit code; null when a signal ended it or it timed out. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * What the command's stdio is: `capture` (execInService), the caller's own fds (`inherit`), a
 * pseudo-terminal of the service relayed to the caller's terminal (`pty`), or none, the
 * command outliving the call (`detach`).
 */
export type ExecStdio = 'capture' | 'inherit' | 'pty' | 'detach';

/** The request native/exec reads (pure; tests read it back with decodeLaunchRequest). */
export function execRequest(
  target: ExecTarget,
  argv: readonly string[],
  options: ExecOptions,
  userDb: UserDb,
  stdio: ExecStdio = 'capture',
  /** The service's filter as request pairs (compiledSeccompPairs); default: its rules. */
  seccomp?: readonly (readonly [string, string])[],
): [string, string][] {
  const s = target.service;
  if (argv.length === 0) throw new UserError('EXEC_NO_COMMAND', `exec in service "${s.name}": no command given`, 'name the program to run');
  // A command joining a frozen group would be frozen too, and wait for the unpause (Docker refuses it).
  if (cgroupPaused(target.cgroupDirs)) throw new UserError('SERVICE_PAUSED', `service "${s.name}" is paused`, `\`stack unpause ${s.name}\` lets it (and commands in it) run again`);
  const identity = options.user === undefined && s.imageRoot !== undefined ? s.imageRoot.identity : resolveUser(s.name, options.user ?? s.user, userDb);
  const env = { ...s.environment, ...options.env };
  const pairs: [string, string][] = [
    ['pid', String(target.pid)],
    ['start_time', String(target.startTime)],
    ['uid', String(identity.uid)],
    ['gid', String(identity.gid)],
    ['caps', capabilityMask(options.privileged ? ALL_CAPABILITIES : serviceCapabilities(s)).toString(16)],
    ['cwd', options.workingDir ?? s.workingDir ?? '/'],
    ['search_path', env.PATH ?? DEFAULT_SEARCH_PATH],
    ['timeout_ms', String(Math.max(0, Math.ceil(options.timeoutMs ?? 0)))],
  ];
  if (stdio !== 'capture') pairs.push(['stdio', stdio]);
  for (const dir of target.cgroupDirs) pairs.push(['cgroup', dir]);
  // The service's own filter, resolved for its own capabilities even under `exec --privileged`
  // (Docker's exec keeps the container's profile): setns does not carry the workload's over.
  for (const [key, value] of seccomp ?? seccompRequestPairs(filterOf(s))) pairs.push([key, value]);
  for (const gid of identity.groups) pairs.push(['group', String(gid)]);
  for (const [key, value] of Object.entries(env)) pairs.push(['env', `${key}=${value}`]);
  for (const arg of argv) pairs.push(['arg', arg]);
  for (const [key, value] of pairs) {
    if (value.includes('\0')) {
      throw new UserError('NUL_IN_VALUE', `exec in service "${s.name}": ${key} contains a NUL byte`, 'a process cannot receive NUL bytes in its arguments or environment');
    }
  }
  return pairs;
}

/** A capped collector of one output stream. */
function collector(max: number): { push(chunk: Buffer): void; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk) {
      if (size >= max) return;
      const part = chunk.subarray(0, max - size);
      chunks.push(part);
      size += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** Turns the helper's `err` report into an error a human can act on. */
function startError(target: ExecTarget, argv: readonly string[], report: string): Error {
  const [, stage = '?', errno = '0', detail = ''] = report.trimEnd().split('\t');
  const name = target.service.name;
  if (stage === 'service') {
    return new UserError('SERVICE_NOT_RUNNING', `service "${name}" is not running (${detail})`, 'start it with `stack up`');
  }
  if (stage === 'exec' && (errno === 'ENOENT' || errno === 'ENOTDIR')) {
    return new UserError('COMMAND_NOT_FOUND', `exec in service "${name}": program "${detail}" not found`, 'check the command; the service sees the host\'s programs');
  }
  if (stage === 'exec' && (errno === 'EACCES' || errno === 'ENOEXEC')) {
    return new UserError('COMMAND_NOT_EXECUTABLE', `exec in service "${name}": "${detail}" cannot be run by the service's user`, 'check the file mode and the user');
  }
  if (stage === 'chdir') {
    return new UserError('WORKING_DIR_MISSING', `exec in service "${name}": folder ${detail} does not exist in the service`, 'give an existing working folder');
  }
  if (stage === 'pty') {
    // The service's own /dev is its to change: a pty it cannot give is the service's doing.
    return new UserError('EXEC_NO_PTY', `exec in service "${name}": no pseudo-terminal: ${detail} (${errno})`, 'run without a terminal: stack exec -T ...');
  }
  const value = (osConstants.errno as Record<string, number>)[errno] ?? 0;
  return new KernelError(`exec in service ${name} (${argv[0] ?? ''}): ${stage} ${detail}`, errno, value);
}

/** The service's own filter, resolved for its own capabilities (even under `exec --privileged`). */
function filterOf(s: ExecService): ReturnType<typeof serviceSeccomp> {
  return serviceSeccomp(s, serviceCapabilities(s));
}

/**
 * The exec helper's request for `argv` in the service, with its filter as compiled once and kept
 * (seccomp/compile.ts: the service's launch kept it), so the helper only loads the BPF: built
 * from the rules by libseccomp in the helper, it took 15 ms of a `stack exec -T s1 true` of 155
 * (strace). Rejects when the command cannot be asked for: SERVICE_NOT_RUNNING (the pid gone or
 * reused), SERVICE_PAUSED, a NUL in a value, an unknown user.
 */
async function helperRequest(target: ExecTarget, argv: readonly string[], options: ExecOptions, stdio: ExecStdio): Promise<Buffer> {
  if (!isSameProcess(target.pid, target.startTime)) {
    throw new UserError('SERVICE_NOT_RUNNING', `service "${target.service.name}" is not running`, 'start it with `stack up`');
  }
  const seccomp = await compiledSeccompPairs(filterOf(target.service));
  return encodeLaunchRequest(execRequest(target, argv, options, options.userDb ?? loadUserDb(), stdio, seccomp));
}

/**
 * Runs `argv` inside the service and resolves with its exit and output. Rejects when it could
 * not be started: SERVICE_NOT_RUNNING (the pid is gone or reused), COMMAND_NOT_FOUND, ... .
 */
export async function execInService(target: ExecTarget, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const request = await helperRequest(target, argv, options, 'capture');
  const helper = options.helperPath ?? EXEC_HELPER_PATH;
  const max = options.maxOutputBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const { spawn } = childProcess();
    const child = spawn(helper, [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], cwd: '/', env: {} });
    const stdout = collector(max);
    const stderr = collector(max);
    let report = '';
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const reportStream = child.stdio[3] as NodeJS.ReadableStream;
    reportStream.setEncoding('utf8');
    reportStream.on('data', (d: string) => (report += d));
    child.stdin.on('error', () => undefined); // a helper that failed early: its report says why
    // The helper enforces the timeout itself; this one only catches a helper that hangs.
    const guard =
      options.timeoutMs !== undefined && options.timeoutMs > 0
        ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs + 5000)
        : undefined;
    const abort = (): void => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(guard);
      options.signal?.removeEventListener('abort', abort);
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        reject(new UserError('EXEC_HELPER_MISSING', `the exec helper ${helper} is not built`, 'run `npm run build` (it needs gcc)', { cause: e }));
      } else reject(e);
    });
    // Settled on the helper's exit, not on its pipes closing: a command may leave a background
    // process holding stdout. The report pipe closes with the helper; output gets a moment more.
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      options.signal?.removeEventListener('abort', abort);
      const ended = (s: NodeJS.ReadableStream): Promise<void> => new Promise((done) => (s.readable ? s.once('end', done).once('close', done) : done()));
      const grace = new Promise<void>((done) => setTimeout(done, 200).unref());
      void Promise.all([ended(reportStream), Promise.race([Promise.all([ended(child.stdout), ended(child.stderr)]), grace])]).then(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        const [kind = '', value = ''] = report.trimEnd().split('\t');
        if (kind === 'err') return reject(startError(target, argv, report));
        const result = { stdout: stdout.text(), stderr: stderr.text() };
        if (kind === 'exit') return resolve({ exitCode: Number(value), signal: null, timedOut: false, ...result });
        if (kind === 'signal') return resolve({ exitCode: null, signal: value, timedOut: false, ...result });
        if (kind === 'timeout') return resolve({ exitCode: null, signal: 'SIGKILL', timedOut: true, ...result });
        // No report: the helper itself was killed (abort, or the guard above).
        resolve({ exitCode: null, signal: signal ?? `exit ${code}`, timedOut: guard !== undefined && signal === 'SIGKILL', ...result });
      });
    });
    child.stdin.end(request);
  });
}

/** How an attached command ended: its code as a shell reports it (128+n for signal n). */
export interface AttachedResult {
  readonly exitCode: number;
  /** The signal that ended it, or null. */
  readonly signal: string | null;
}

/** A command running inside a service with the caller's stdio (or detached). */
export interface AttachedExec {
  /** Settles when the command has ended (`detach`: once it runs); rejects when it could not start. */
  readonly done: Promise<AttachedResult>;
  /** Sends `signal` to the helper, which passes it on to the command's process group. */
  kill(signal: NodeJS.Signals): void;
  /** The command's stdin and stdout when started with `pipes` (`stack cp` streams a tar through them). */
  readonly stdin?: NodeJS.WritableStream;
  readonly stdout?: NodeJS.ReadableStream;
}

/**
 * Runs `argv` inside the service for `stack exec`: with `inherit` the command gets this
 * process's fds 0-2 as they are; with `pty` a pseudo-terminal of the service's own devpts,
 * relayed by the helper to this process's terminal (raw mode, window size followed); with
 * `detach` no stdio, and done settles as soon as the command runs. The request goes on fd 4,
 * so fd 0 is free for the command. Resolves once the helper is spawned (its stdin and stdout
 * with `pipes`); rejects, spawning nothing, when the command cannot be asked for (the service
 * gone or paused, a NUL in a value, an unknown user).
 */
export async function execAttached(
  target: ExecTarget,
  argv: readonly string[],
  stdio: Exclude<ExecStdio, 'capture'>,
  options: Pick<ExecOptions, 'env' | 'user' | 'workingDir' | 'privileged' | 'userDb' | 'helperPath'> & { readonly pipes?: boolean } = {},
): Promise<AttachedExec> {
  // What can be refused is refused by this call, before anything is spawned: `done` is only the
  // helper's and its command's.
  const request = await helperRequest(target, argv, options, stdio);
  let child: ChildProcess | undefined;
  const done = new Promise<AttachedResult>((resolve, reject) => {
    const helper = options.helperPath ?? EXEC_HELPER_PATH;
    const own = stdio === 'detach' ? 'ignore' : 'inherit';
    const io = options.pipes && stdio === 'inherit' ? (['pipe', 'pipe'] as const) : ([own, own] as const);
    const { spawn } = childProcess();
    child = spawn(helper, ['--request-fd', '4'], { stdio: [...io, own, 'pipe', 'pipe'], cwd: '/', env: {} });
    let report = '';
    const reportStream = child.stdio[3] as NodeJS.ReadableStream;
    const requestStream = child.stdio[4] as NodeJS.WritableStream;
    reportStream.setEncoding('utf8');
    reportStream.on('data', (d: string) => (report += d));
    requestStream.on('error', () => undefined); // a helper that failed early: its report says why
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        reject(new UserError('EXEC_HELPER_MISSING', `the exec helper ${helper} is not built`, 'run `npm run build` (it needs gcc)', { cause: e }));
      } else reject(e);
    });
    child.once('exit', (code, signal) => {
      const settle = (): void => {
        const [kind = '', value = ''] = report.trimEnd().split('\t');
        if (kind === 'err') return reject(startError(target, argv, report));
        if (kind === 'exit') return resolve({ exitCode: Number(value), signal: null });
        if (kind === 'signal') return resolve({ exitCode: 128 + (osConstants.signals[value as NodeJS.Signals] ?? 0), signal: value });
        if (kind === 'detached') return resolve({ exitCode: 0, signal: null });
        // No report: the helper itself was killed; its command went with it (PDEATHSIG).
        const name = signal ?? null;
        resolve({ exitCode: name ? 128 + (osConstants.signals[name] ?? 0) : (code ?? 1), signal: name });
      };
      if (reportStream.readable) reportStream.once('end', settle).once('close', settle);
      else settle();
    });
    requestStream.end(request);
  });
  return {
    done,
    kill(signal) {
      child?.kill(signal);
    },
    ...(options.pipes && child?.stdin && child.stdout && { stdin: child.stdin, stdout: child.stdout }),
  };
}

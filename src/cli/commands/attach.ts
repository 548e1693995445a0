// `stack attach SERVICE`: a running service's output from now on, as it comes, and what is typed
// passed to its input when it keeps one (`stdin_open: true` or `tty: true`), as `docker compose
// attach` does. The output is the monitor's log, record by record (runtime/follow.ts); the input a
// copy of the monitor's descriptor (the terminal's master, or the stdin pipe). It ends when the
// service's process does, with its status, or on the detach keys (the service runs on).
import { constants as osConstants } from 'node:os';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { KernelError, UserError } from '../../errors.js';
import { runningTarget } from './exec.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { serviceFiles } from '../../state/service-files.js';
import { awaitExitRecord, statusCode } from '../../state/exit-record.js';
import { DetachMatcher, followLogFromNow, isSameProcess, parseDetachKeys, pauseMarked, serviceInput, type MonitorRef } from '../../runtime/index.js';
import { close, POLLOUT, setNonBlocking, writeSome } from '../../sys/libc.js';
import { readyWatcher } from '../../sys/ready-watch.js';
import { signalProcess } from '../../sys/pidfd.js';
import { ExitWatcher } from '../../sys/exit-watch.js';

const HELP = `Usage: stack attach [OPTIONS] SERVICE

Attach to a running service: print its output from now on as it comes, and pass what you type
to its input when it keeps one (stdin_open: true, or tty: true), as \`docker compose attach\`
does. Ends with the service's exit status once its process ends, or on the detach keys (the
service runs on).

Options:
      --index N           The replica N of a scaled service (default 1)
      --no-stdin          Do not pass standard input to the service
      --sig-proxy BOOL    Pass the signals stack attach gets (Ctrl-C's SIGINT, SIGTERM, ...) to
                          the service's process (default true; a service with a terminal gets
                          Ctrl-C through it)
      --detach-keys KEYS  The keys that detach, leaving the service running (default ctrl-p,ctrl-q)
  -h, --help              Print this help
`;

const OPTIONS = {
  index: { type: 'string' },
  'no-stdin': { type: 'boolean', default: false },
  'sig-proxy': { type: 'string', default: 'true' },
  'detach-keys': { type: 'string', default: 'ctrl-p,ctrl-q' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The signals passed on to the service (docker's proxy passes every catchable one; these are what a shell user sends). */
const PROXIED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Runs `stack attach`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('attach', ctx.args, OPTIONS, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined || positionals.length > 1) {
    throw new UserError('CLI_BAD_ARGUMENTS', name === undefined ? 'stack attach needs a service' : `stack attach takes one service (got ${positionals.join(' ')})`, 'e.g. stack attach web');
  }
  const index = values.index === undefined ? 1 : Number(values.index);
  if (!Number.isInteger(index) || index < 1) throw new UserError('CLI_BAD_ARGUMENTS', `stack attach: --index ${values.index} is not a positive whole number`, 'e.g. --index 1');
  if (values['sig-proxy'] !== 'true' && values['sig-proxy'] !== 'false') {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack attach: --sig-proxy ${values['sig-proxy']} is not true or false`, 'e.g. --sig-proxy=false');
  }
  const keys = parseDetachKeys(values['detach-keys']);
  if (keys === undefined) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack attach: --detach-keys ${values['detach-keys']} is no list of keys`, 'keys are a character or ctrl-X, comma-separated: e.g. ctrl-p,ctrl-q');
  }

  const target = await runningTarget(ctx, name, index);
  const { project, started: spec } = target;
  const key = target.service.name;
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  if (pauseMarked(roots, project, key)) {
    throw new UserError('SERVICE_PAUSED', `service "${name}" is paused: stack attach would wait on a frozen process`, `\`stack unpause ${name}\` first`);
  }
  const record = await serviceRecords.read(roots, project, key);
  const tty = spec?.tty === true;
  // Input only to a service that keeps its stdin open (docker's OpenStdin): one with a terminal
  // alone is watched, its Ctrl-C ending the attach rather than reaching it.
  const wantsInput = !values['no-stdin'] && spec?.stdinOpen === true;
  const monitor = record?.monitor as MonitorRef | undefined;
  const files = serviceFiles(roots, project, key);
  const main = { pid: target.pid, startTime: target.startTime };

  const done = new AbortController();
  const stops: (() => void | Promise<void>)[] = [];
  let detached = false;
  let rawTerminal = false;
  let following: Promise<void> = Promise.resolve();
  try {
    // Its end: its process's pidfd (no pidfds: a look every 200 ms).
    const ended = new Promise<void>((resolve) => {
      const watcher = ExitWatcher.open();
      const poll = (): void => {
        const timer = setInterval(() => !isSameProcess(main.pid, main.startTime) && resolve(), 200);
        stops.push(() => clearInterval(timer));
      };
      if (watcher === undefined) poll();
      else if (watcher.watch(main.pid, main.startTime, resolve, poll) === undefined) resolve(); // ended meanwhile
      stops.push(() => watcher?.close());
      done.signal.addEventListener('abort', () => resolve(), { once: true });
    });

    // Its output: on a terminal of ours in raw mode a line ends in \r\n (the service's terminal
    // writes \n alone: logs are lines).
    rawTerminal = tty && wantsInput && process.stdin.isTTY === true;
    const crlf = rawTerminal;
    following = followLogFromNow(
      files.log,
      (r) => {
        const text = r.final ? Buffer.concat([r.bytes, Buffer.from('\n')]) : r.bytes;
        const out = crlf ? Buffer.from(text.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : text;
        (r.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(out);
      },
      done.signal,
    ).catch((e: unknown) => {
      ctx.stderr.write(`stack attach: the log of ${name} can no longer be read: ${(e as Error).message}\n`);
      done.abort();
    });

    // Its input, when it keeps one and it is wanted.
    if (wantsInput) {
      const fd = monitor === undefined ? undefined : inputOf(monitor, name);
      if (fd === undefined) {
        ctx.stderr.write(`stack attach: the input of ${name} cannot be reached (started by an older stack, or adopted after a cut-off run); \`stack restart ${name}\` gives it one\n`);
      } else {
        const writer = inputWriter(fd, name);
        stops.push(() => writer.close());
        const matcher = new DetachMatcher(keys);
        if (rawTerminal) {
          process.stdin.setRawMode(true);
          stops.push(() => void process.stdin.setRawMode(false));
        }
        const onData = (chunk: Buffer): void => {
          const { pass, detach } = matcher.push(chunk);
          if (pass.length > 0) writer.send(pass);
          if (detach) {
            detached = true;
            done.abort();
          }
        };
        process.stdin.on('data', onData);
        stops.push(() => {
          process.stdin.off('data', onData);
          process.stdin.pause();
          process.stdin.unref?.();
        });
      }
    }

    // The signals stack attach gets go to the service's process (not through a terminal of its own).
    if (values['sig-proxy'] === 'true' && !tty) {
      for (const signal of PROXIED) {
        const pass = (): void => void signalProcess(main.pid, main.startTime, osConstants.signals[signal]);
        process.on(signal, pass);
        stops.push(() => void process.off(signal, pass));
      }
    }

    await ended;
    if (!detached) {
      // The monitor writes the exit record once it has logged all the service wrote: the last
      // lines are followed before the follow ends.
      const exit = await awaitExitRecord(files.exit, main, monitor);
      done.abort();
      await following;
      return exit === undefined ? 0 : statusCode(exit);
    }
  } finally {
    done.abort();
    for (const stop of stops.reverse()) await stop();
    await following;
  }
  ctx.stderr.write(`${rawTerminal ? '\r\n' : ''}stack attach: detached from ${name}; it runs on\n`);
  return 0;
}

/** A copy of the monitor's input descriptor, non-blocking; a refusal of the kernel said as a UserError. */
function inputOf(monitor: MonitorRef, name: string): number | undefined {
  try {
    const fd = serviceInput(monitor);
    if (fd !== undefined) setNonBlocking(fd);
    return fd;
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    throw new UserError(
      'ATTACH_INPUT',
      `stack attach: cannot take the input of ${name}: ${e.message}`,
      e.errno === 'ENOSYS' ? 'passing input needs Linux 5.6 or later (pidfd_getfd); --no-stdin attaches to its output' : 'stack attach needs the right to ptrace the service\'s monitor (root, no Yama ptrace_scope 3); --no-stdin attaches to its output',
    );
  }
}

/**
 * Writes what is typed to the service's input, in order, one write at a time, waiting for room
 * (the poll thread's POLLOUT) when the service does not read: nothing blocks the CLI, and close()
 * drops what is left. A write the service can no longer take (EPIPE, EIO: it is gone) drops the rest.
 */
function inputWriter(fd: number, name: string): { send(data: Buffer): void; close(): Promise<void> } {
  const watcher = readyWatcher();
  let queue: Buffer[] = [];
  let waiting: ((closeFd?: () => void) => Promise<void>) | undefined;
  let closed = false;
  const flush = (): void => {
    waiting = undefined;
    try {
      while (queue.length > 0) {
        const n = writeSome(fd, queue[0]!, () => `write(the input of ${name})`);
        if (n === undefined) {
          if (!watcher.working()) throw new Error('the descriptors\' watcher gave up');
          waiting = watcher.watch(fd, POLLOUT, flush);
          return;
        }
        queue[0] = queue[0]!.subarray(n);
        if (queue[0].length === 0) queue.shift();
      }
    } catch {
      queue = []; // gone: its end ends the attach
    }
  };
  return {
    send(data) {
      if (closed) return;
      queue.push(data);
      if (waiting === undefined) flush();
    },
    async close() {
      closed = true;
      queue = [];
      if (waiting !== undefined) await waiting(() => close(fd));
      else close(fd);
    },
  };
}

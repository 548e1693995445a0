// `stack attach SERVICE`: a running service's output from now on, as it comes, and what is typed
// passed to its input when it keeps one (`stdin_open: true` or `tty: true`), as `docker compose
// attach` does. The output is the monitor's log, record by record (runtime/attach.ts); the input a
// copy of the monitor's descriptor (the terminal's master, or the stdin pipe). It ends when the
// service's process does, with its status, or on the detach keys (the service runs on).
import { write as writeFd, closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { runningTarget } from './exec.js';
import { projectNameFromContext } from '../project.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { readSnapshot } from '../../state/snapshot.js';
import { serviceFiles } from '../../state/service-files.js';
import { awaitExitRecord, statusCode } from '../../state/exit-record.js';
import { DetachMatcher, followLogRecords, parseDetachKeys, serviceInput, type MonitorRef } from '../../runtime/index.js';
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
  const key = target.service.name;
  const project = await projectNameFromContext(ctx);
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const [snapshot, record] = await Promise.all([readSnapshot(roots, project), serviceRecords.read(roots, project, key)]);
  const spec = snapshot?.project.services[key];
  const tty = spec?.tty === true;
  const monitor = record?.monitor as MonitorRef | undefined;
  const files = serviceFiles(roots, project, key);

  const done = new AbortController();
  const ended = new Promise<void>((resolve) => {
    const watcher = ExitWatcher.open();
    const unwatch = watcher?.watch(target.pid, target.startTime, resolve, resolve);
    if (unwatch === undefined) resolve(); // it ended meanwhile (or no pidfds: nothing to wait on)
    done.signal.addEventListener('abort', () => {
      watcher?.close();
      resolve();
    });
  });

  // Its output: on a terminal of ours in raw mode a line ends in \r\n (the service's terminal
  // writes \n alone: logs are lines).
  const rawTerminal = tty && !values['no-stdin'] && process.stdin.isTTY === true;
  const following = followLogRecords(
    files.log,
    (r) => {
      const text = r.final ? Buffer.concat([r.bytes, Buffer.from('\n')]) : r.bytes;
      const out = rawTerminal ? Buffer.from(text.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : text;
      (r.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(out);
    },
    done.signal,
  );

  // Its input, when it keeps one and it is wanted.
  let detached = false;
  let input: number | undefined;
  const stopInput: (() => void)[] = [];
  if (!values['no-stdin'] && monitor !== undefined && (tty || spec?.stdinOpen === true)) {
    input = serviceInput(monitor);
    if (input !== undefined) {
      const fd = input;
      const matcher = new DetachMatcher(keys);
      if (rawTerminal) process.stdin.setRawMode(true);
      const onData = (chunk: Buffer): void => {
        const { pass, detach } = matcher.push(chunk);
        if (pass.length > 0) writeFd(fd, pass, () => undefined); // a service gone meanwhile: its end ends the attach
        if (detach) {
          detached = true;
          done.abort();
        }
      };
      process.stdin.on('data', onData);
      stopInput.push(() => {
        process.stdin.off('data', onData);
        if (rawTerminal) process.stdin.setRawMode(false);
        process.stdin.pause();
        process.stdin.unref?.();
      });
    }
  }

  // The signals stack attach gets go to the service's process (not through a terminal of its own).
  if (values['sig-proxy'] === 'true' && !tty) {
    for (const signal of PROXIED) {
      const pass = (): void => void signalProcess(target.pid, target.startTime, osConstants.signals[signal]);
      process.on(signal, pass);
      stopInput.push(() => process.off(signal, pass));
    }
  }

  try {
    await ended;
  } finally {
    done.abort();
    await following;
    for (const stop of stopInput) stop();
    if (input !== undefined) closeSync(input);
  }
  if (detached) {
    ctx.stderr.write(`${rawTerminal ? '\r\n' : ''}stack attach: detached from ${name}; it runs on\n`);
    return 0;
  }
  // Its status, as the monitor writes it right after the exit.
  const exit = await awaitExitRecord(files.exit, { pid: target.pid, startTime: target.startTime }, monitor);
  return exit === undefined ? 0 : statusCode(exit);
}

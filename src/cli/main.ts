// The `stack` command: parse the command line, run one command, turn errors into exit codes.
// Commands are loaded on demand so `stack --version` pays for nothing it does not use.
import { writeSync } from 'node:fs';
import { parseCommandLine, type GlobalOptions } from './args.js';
import type { CommandContext } from './context.js';
import { closest } from './suggest.js';
import { UserError } from '../errors.js';
import { reportError } from './report.js';
import { directOutput, writePipesDirectly } from './output.js';
import { mark } from '../trace.js';
import { leaveNow, outputStreamsMade } from '../sys/leave.js';
import { asyncCallsUnderWay } from '../sys/koffi.js';
import { version } from './version.js';

/** What every command receives: global options, its own arguments, and where to write. */
export type { CommandContext } from './context.js';

/** A command module's single entry point; resolves to the exit code. */
export type CommandRun = (ctx: CommandContext) => Promise<number>;

/**
 * The commands. `answers`: one that holds no lock and streams nothing, its output written once
 * it is ready: it writes a pipe or a socket with write(2) as it writes a file (output.ts).
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: CommandRun }>; answers?: true }> = {
  config: { summary: 'Validate the spec and print the normalized project', load: () => import('./commands/config.js'), answers: true },
  plan: { summary: 'Print what `up` would do, one line per operation with its cause', load: () => import('./commands/plan.js') },
  up: { summary: 'Create and start the services (only what changed); -d to detach', load: () => import('./commands/up.js') },
  create: { summary: 'Create the services without starting them (up --no-start)', load: () => import('./commands/create.js') },
  down: { summary: 'Stop and remove the services, networks and state; -v for volumes too', load: () => import('./commands/down.js') },
  run: { summary: 'Run a one-off command in a new copy of a service', load: () => import('./commands/run.js') },
  watch: { summary: 'Bring the services up and act on their develop.watch rules as files change', load: () => import('./commands/watch.js') },
  attach: { summary: 'Attach to a running service: its output as it comes, your input to its stdin', load: () => import('./commands/attach.js') },
  exec: { summary: 'Run a command inside a running service', load: () => import('./commands/exec.js') },
  restart: { summary: 'Restart services', load: () => import('./commands/restart.js') },
  stop: { summary: 'Stop services (they stay stopped until start or up)', load: () => import('./commands/stop.js') },
  start: { summary: 'Start stopped services', load: () => import('./commands/start.js') },
  scale: { summary: 'Run N replicas of services: SERVICE=N...', load: () => import('./commands/scale.js') },
  rm: { summary: 'Remove stopped services (-s stops them first, -v their anonymous volumes too)', load: () => import('./commands/rm.js') },
  kill: { summary: 'Send a signal (default SIGKILL) to services', load: () => import('./commands/kill.js') },
  pause: { summary: 'Pause the services (freeze their processes)', load: () => import('./commands/pause.js') },
  unpause: { summary: 'Unpause the services stack pause paused', load: async () => ({ run: (await import('./commands/pause.js')).unpause }) },
  wait: { summary: 'Block until services stop; exit with the status code of the last', load: () => import('./commands/wait.js') },
  gc: { summary: 'Remove what crashed runs left of projects nothing runs any more', load: () => import('./commands/gc.js') },
  pull: { summary: 'Pull the images of the services into the image store', load: () => import('./commands/pull.js') },
  push: { summary: 'Push the images of the services that are built and name their image to their registries', load: () => import('./commands/push.js') },
  build: { summary: 'Build the images of the services that have build: (from their Dockerfile)', load: () => import('./commands/build.js') },
  images: { summary: 'List the images of the services that are in the image store', load: () => import('./commands/images.js'), answers: true },
  rmi: { summary: 'Remove images from the image store (-f: even one a project uses)', load: () => import('./commands/rmi.js') },
  image: { summary: 'Manage the image store: ls, rm, prune', load: () => import('./commands/image.js') },
  ls: { summary: 'List the projects on this host (no spec needed); -a for stopped ones too', load: () => import('./commands/ls.js'), answers: true },
  export: { summary: 'Write the project as Kubernetes manifests (`export kube`), every change of meaning named', load: () => import('./commands/export.js') },
  volumes: { summary: 'List the project\'s volumes that are on this host', load: () => import('./commands/volumes.js'), answers: true },
  ps: { summary: 'List the services: state, health, pid, restarts, ports', load: () => import('./commands/ps.js'), answers: true },
  top: { summary: 'Print the processes of each running service', load: () => import('./commands/top.js') },
  port: { summary: 'Print the host address a service\'s port is published on', load: () => import('./commands/port.js'), answers: true },
  stats: { summary: 'Show the live CPU, memory, network, block I/O and pids of the services', load: () => import('./commands/stats.js') },
  cp: { summary: 'Copy files or folders between a service and the host', load: () => import('./commands/cp.js') },
  events: { summary: 'Print the services\' lifecycle events as they happen (start, die, oom, restart, health)', load: () => import('./commands/events.js') },
  logs: { summary: 'Print the services\' output (-f follows)', load: () => import('./commands/logs.js') },
  version: { summary: 'Print the version', load: () => import('./commands/version.js'), answers: true },
};

/** Runs the CLI with `argv` (without node and script) and sets process.exitCode. */
export async function main(argv: string[]): Promise<void> {
  // Written with write(2) until a command needs the stream itself (output.ts: ~5-10 ms).
  const stderr = directOutput(2, () => endsOnWriteError(process.stderr, 'stderr'));
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch (e) {
    // getcwd(3) fails when the shell's folder was removed (ENOENT) or cannot be read (EACCES).
    const gone = new UserError('CWD_GONE', `cannot tell the current folder (${(e as NodeJS.ErrnoException).code ?? String(e)}): it was removed, or it cannot be read`, '`cd` to a folder that exists, then run the command again');
    process.exitCode = reportError(gone, stderr, '/');
    return;
  }
  process.exitCode = await run(argv, {
    cwd,
    env: process.env,
    stdout: directOutput(1, () => endsOnWriteError(process.stdout, 'stdout')),
    stderr,
  });
}

/**
 * Ends the process once the command is done and nothing is left to run (bin/stack.cjs, on
 * 'beforeExit'), as process.exit() would, without its caller waiting for the kernel to unmap it
 * (sys/leave.ts). Returns where it cannot; the caller exits its own way then.
 */
export function leave(): void {
  mark('main: leaving');
  leaveNow(typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0);
}

/** The resource types process.getActiveResourcesInfo() gives a stdio stream's own handle. */
const STDIO_HANDLES = new Set(['PipeWrap', 'TTYWrap', 'TCPWrap', 'TCPSocketWrap']);

/**
 * Whether nothing is under way once main() has settled (bin/stack.cjs asks, a turn of the loop
 * later, and leaves at once when so): no other 'beforeExit' listener waits (ink's), no
 * asynchronous koffi call runs on libuv's threads (the loop waits for one, though Node lists
 * none), no stdio stream holds output, and process.getActiveResourcesInfo() lists nothing but
 * the handles of the stdout and stderr streams made (one each: listed while idle, they keep the
 * loop alive only while writing, and a write not taken yet is listed besides): no child, socket,
 * ref'd timer or request. Leaving then spares what Node does between its loop's end and
 * 'beforeExit': it waits for V8's background jobs (optimizing compiles, GC helpers) and runs the
 * tasks V8 queued (a scavenge among them), none of which a process about to exit needs: a no-op
 * \`up -d\` of 20 spent 6-10 ms from 'up: applied' to 'beforeExit', 3 ms of it in a futex wait
 * on a V8 worker (strace).
 */
export function idle(): boolean {
  if (process.listenerCount('beforeExit') > 1 || asyncCallsUnderWay() > 0) return false;
  const streams = outputStreamsMade();
  if (streams.some((s) => s.writableLength > 0 || s.writableNeedDrain)) return false;
  // Node 20 lists a pipe's, a terminal's or a socket's handle while it has nothing to write.
  let own = streams.filter((s) => (s as unknown as { _handle?: unknown })._handle != null).length;
  return process.getActiveResourcesInfo().every((resource) => own > 0 && STDIO_HANDLES.has(resource) && own-- > 0);
}

/** SIGPIPE's status: what a shell reports for a program a closed pipe ended. */
const BROKEN_PIPE_STATUS = 128 + 13;

/**
 * A failed write to stdout or stderr ends the command instead of ending in Node's unhandled
 * 'error' event and its stack trace (`stack config | head -1` did). A reader gone (EPIPE) ends it
 * as SIGPIPE ends a C or Go program, quietly with status 141 (Node ignores SIGPIPE, so write(2)
 * fails instead); any other failure (ENOSPC) is said on stderr, once, with status 1. A command
 * cut short so is one killed: what it made is left for the next `up` or `down`, as a kill leaves it.
 */
function endsOnWriteError(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): NodeJS.WriteStream {
  stream.once('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && name === 'stdout') {
      try {
        writeSync(2, `stack: cannot write to stdout: ${e.code ?? e.message}\n`);
      } catch {
        // stderr is gone too
      }
    }
    process.exit(e.code === 'EPIPE' ? BROKEN_PIPE_STATUS : 1);
  });
  return stream;
}

/** Testable core of main: returns the exit code (0 ok, 1 user error, 2 internal error). */
export async function run(
  argv: string[],
  io: Pick<CommandContext, 'cwd' | 'env' | 'stdout' | 'stderr'>,
): Promise<number> {
  try {
    const line = parseCommandLine(argv);
    if (line.global.version) {
      writePipesDirectly();
      io.stdout.write(version() + '\n');
      return 0;
    }
    if (line.global.help || line.command === undefined || line.command === 'help') {
      io.stdout.write(usage());
      return line.command === undefined && !line.global.help ? 1 : 0;
    }
    const command = COMMANDS[line.command];
    if (!command) {
      const near = closest(line.command, Object.keys(COMMANDS));
      throw new UserError(
        'CLI_UNKNOWN_COMMAND',
        `unknown command "${line.command}"`,
        near ? `did you mean \`stack ${near}\`?` : 'see `stack --help` for the commands',
      );
    }
    if (command.answers) writePipesDirectly();
    // The code this command runs is kept for it (src/code-cache.cjs: the bundle's packs serve several commands).
    (globalThis as { [key: symbol]: { use(name: string): void } | undefined })[Symbol.for('stack.code-cache')]?.use(line.command);
    mark('main: parsed');
    const module = await command.load();
    mark('main: loaded');
    return await module.run({ ...io, global: line.global, args: line.rest });
  } catch (e) {
    return reportError(e, io.stderr, io.cwd);
  }
}


function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const commands = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: stack [OPTIONS] COMMAND [ARGS]

A daemonless, compose-style orchestrator: namespaced, cgroup-limited services from a compose file.

Options (before the command):
  -f, --file FILE              Spec file (repeatable; later files merge over earlier ones)
  -p, --project-name NAME      Project name (default: name: in the spec, else the folder name)
      --project-directory DIR  Project folder (default: the first spec file's folder)
      --profile NAME           Enable a profile (repeatable)
      --env-file FILE          Environment file for interpolation (repeatable; default .env)
  -v, --version                Print the version
  -h, --help                   Print this help

Commands:
${commands}

Environment: STACK_ROOT moves all state (runtime records and named volumes) to one folder.
`;
}

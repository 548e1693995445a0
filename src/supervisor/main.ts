// The supervisor process: `node dist/supervisor/main.js <project> <run root> <lib root>`,
// spawned detached (its own session) by ensureSupervisor, its stdout and stderr in the
// project's supervisor.log; or `… --standby` (names.ts STANDBY_ARGUMENT), started by `up` before
// it knows the project, which reads those three on its stdin, then logs to that log itself
// (its stdout and stderr stay <run root>/.supervisor-standby.log). At most one per project: it
// first binds an abstract unix socket named after the project's run folder, which the kernel
// releases when the process dies; a second one finds it taken and leaves. Then it moves into the project's monitor group (out of
// the cgroups of whoever ran `stack up`, whose end must not end it: runtime/cgroup/monitors.ts),
// records its pid, serves the control socket and rebuilds everything from the records
// (supervisor.ts).
import net from 'node:net';
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isSameProcess, readBootId, readStartTime } from '../sys/proc.js';
import { readPidRecord, writeFile, type PidRecord } from './files.js';
import { isAbstract, READY_FD_VARIABLE, supervisorPaths } from './paths.js';
import { serve, type Reply, type Request } from './protocol.js';
import { openSupervisorLog } from './control.js';
import { Supervisor } from './supervisor.js';
import { mark } from '../trace.js';
import { STANDBY_ARGUMENT } from '../names.js';

/** Exit code of a supervisor that found another one running. */
export const ALREADY_RUNNING = 3;

/** The log (our stdout as ensureSupervisor opened it O_APPEND, or logFd on standby) is started over past this size. */
const LOG_MAX_BYTES = 4 * 1024 * 1024;
let logged = 0;
/** The log's descriptor when it is not stdout: a supervisor started on standby opens it once it has a project. */
let logFd: number | undefined;

function log(message: string): void {
  const line = `${new Date().toISOString()} ${message}\n`;
  logged += Buffer.byteLength(line);
  if (logged > LOG_MAX_BYTES) {
    try {
      ftruncateSync(logFd ?? 1, 0); // appends then start at 0 again
    } catch {
      // not a file (run by hand on a terminal)
    }
    logged = Buffer.byteLength(line);
  }
  if (logFd !== undefined) writeSync(logFd, line);
  else process.stdout.write(line);
}

/**
 * On standby (control.ts startStandbySupervisor): the project, run root and lib root the
 * starting `stack` writes on stdin as one JSON line; undefined when its stdin ends first.
 * The project's log is then opened as ensureSupervisor would have opened it for a spawn.
 */
function handedOver(): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const done = (args: string[] | undefined): void => {
      process.stdin.removeAllListeners();
      process.stdin.destroy();
      resolve(args);
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      let args: unknown;
      try {
        args = JSON.parse(text.slice(0, end));
      } catch {
        args = undefined;
      }
      done(Array.isArray(args) && args.length === 3 && args.every((a) => typeof a === 'string' && a !== '') ? (args as string[]) : undefined);
    });
    process.stdin.on('end', () => done(undefined));
    process.stdin.on('error', () => done(undefined));
  });
}

/** Binds the mutex; false when another supervisor of the project holds it. */
function takeMutex(name: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen({ path: name }, () => resolve(server));
  });
}

/**
 * Says `ready` on the fd the starting `stack` named (control.ts spawnSupervisor), then closes it,
 * so no process started later inherits the pipe. Nothing when started otherwise.
 */
function tellReady(): void {
  const fd = Number(process.env[READY_FD_VARIABLE]);
  delete process.env[READY_FD_VARIABLE];
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, 'ready\n');
  } catch {
    // the starter is gone: nobody to tell
  }
  try {
    closeSync(fd);
  } catch {
    // not open
  }
}

/** When a supervisor checks that it is in its project's monitor cgroup (main below). */
const MONITOR_GROUP_CHECK_MS = 1000;

/** Moves this process into the project's monitor cgroup unless it is there; a failure is logged. */
async function joinMonitorGroup(project: string): Promise<void> {
  try {
    const { inMonitorGroup, placeInMonitorGroup } = await import('../runtime/index.js');
    if (!(await inMonitorGroup(project))) await placeInMonitorGroup(project, process.pid);
  } catch (e) {
    log(`cannot move into the project's monitor cgroup (it stays in its caller's): ${e instanceof Error ? e.message : String(e)}`);
  }
  mark('supervisor: in its monitor group');
}

async function main(): Promise<void> {
  const standby = process.argv[2] === STANDBY_ARGUMENT;
  mark('supervisor: modules loaded');
  const [project, run, lib] = standby ? ((await handedOver()) ?? process.exit(0)) : process.argv.slice(2);
  if (!project || !run || !lib) {
    process.stderr.write(`usage: supervisor <project> <run root> <lib root> | ${STANDBY_ARGUMENT}\n`);
    process.exit(2);
  }
  const roots = { run, lib };
  const paths = supervisorPaths(roots, project);
  if (standby) {
    logFd = openSupervisorLog(paths);
    // Its stderr is still the standby log: what would end it unlogged goes to its own log.
    process.on('uncaughtException', (e) => {
      log(`supervisor failed: ${e.stack ?? e.message}`);
      process.exit(1);
    });
    process.on('unhandledRejection', (e) => {
      log(`supervisor failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    });
  }
  mark('supervisor: handed its project');
  const mutex = await takeMutex(paths.mutex);
  mark('supervisor: mutex');
  if (!mutex) {
    log(`another supervisor of project ${project} runs; leaving`);
    process.exit(ALREADY_RUNNING);
  }
  const self: PidRecord = { pid: process.pid, startTime: readStartTime(process.pid) ?? 0, bootId: readBootId(), since: new Date().toISOString() };
  await writeFile(paths.pidFile, self);
  if (!isAbstract(paths.socket)) await rm(paths.socket, { force: true }); // a dead predecessor's
  const supervisor = new Supervisor(project, roots, log, await Supervisor.rememberedPorts(roots, project));
  let closing: Promise<void> | undefined;
  const shutdown = (why: string): Promise<void> =>
    (closing ??= (async () => {
      log(`stopping (${why}); services keep running`);
      await supervisor.close();
      server.close();
      if (!isAbstract(paths.socket)) await rm(paths.socket, { force: true });
      const current = await readPidRecord(paths.pidFile);
      if (current?.pid === self.pid && current.startTime === self.startTime) await rm(paths.pidFile, { force: true });
      mutex.close();
      setImmediate(() => process.exit(0));
    })());
  const handle = async (request: Request): Promise<Reply> => {
    switch (request.command) {
      case 'status':
        return { ok: true, status: await supervisor.status() };
      case 'reload':
        if (request.soon === true) void supervisor.reload();
        else await supervisor.reload();
        return { ok: true };
      case 'stop':
        setImmediate(() => void shutdown('asked to stop'));
        return { ok: true };
      default:
        return { ok: false, error: `unknown command ${JSON.stringify((request as { command?: unknown }).command)}` };
    }
  };
  mark('supervisor: ports remembered');
  const server = await serve(paths.socket, handle);
  mark('supervisor: serving');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => void supervisor.reload());
  log(`supervisor of project ${project} started (pid ${process.pid})`);
  tellReady();
  await supervisor.start();
  // The `stack` that started it moves it while it loads; a supervisor started otherwise moves
  // itself. Checked a second after its start: loading the runtime for it holds this thread
  // ~12-15 ms, and `up` is waiting then for its answers (a status after the first reconcile, then
  // a reread); right after the first reconcile, the status answer was written only after the load.
  setTimeout(() => void joinMonitorGroup(project), MONITOR_GROUP_CHECK_MS).unref();
  // Once the project is gone (down removed its run folder) or another supervisor took over, leave.
  const watchdog = setInterval(() => {
    void readPidRecord(paths.pidFile).then((current) => {
      if (!current || current.pid !== self.pid || !isSameProcess(self.pid, self.startTime)) void shutdown('its pid file is gone');
    });
  }, 1000);
  watchdog.unref();
}

main().catch((e: unknown) => {
  log(`supervisor failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});

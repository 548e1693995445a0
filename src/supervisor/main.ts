// The supervisor process: `node dist/bundle/supervisor.cjs <project> <run root> <lib root>
// [--sockets=…]`, spawned detached (its own session) by ensureSupervisor (control.ts), its
// stdout and stderr in the project's supervisor.log. `--sockets=` names the sockets it inherits
// bound (handed.ts: its control socket, DNS listeners, published ports; socket activation,
// activation.ts), which it serves instead of binding them. At most one per project: it first
// binds an abstract unix socket named after the project's run folder, which the kernel releases
// when the process dies; a second one finds it taken and leaves. Then it records its pid (the
// `stack` that started it wrote the same record already), serves the control socket and
// rebuilds everything from the records (supervisor.ts). It is born in the project's monitor
// group (the launcher that `stack` spawns it through places itself, then runs it: control.ts),
// and moves itself there when it is not (no built launcher, a move that failed).
import net from 'node:net';
import { closeSync, ftruncateSync } from 'node:fs';
import { rm } from '../sys/fs-async.js';
import { isSameProcess, readBootId, readStartTime } from '../sys/proc.js';
import { readPidRecord, readRememberedPorts, writeFile, type PidRecord } from './files.js';
import { handedFds, parseHandedSockets, SOCKETS_ARGUMENT } from './handed.js';
import { setCloexec } from '../sys/libc.js';
import { isAbstract, supervisorPaths } from './paths.js';
import { serve, type Reply, type Request } from './protocol.js';
import { Supervisor } from './supervisor.js';
import { mark } from '../trace.js';

/** Exit code of a supervisor that found another one running. */
export const ALREADY_RUNNING = 3;

/** The log (our stdout as ensureSupervisor opened it, O_APPEND) is started over past this size. */
const LOG_MAX_BYTES = 4 * 1024 * 1024;
let logged = 0;

function log(message: string): void {
  const line = `${new Date().toISOString()} ${message}\n`;
  logged += Buffer.byteLength(line);
  if (logged > LOG_MAX_BYTES) {
    try {
      ftruncateSync(1, 0); // appends then start at 0 again
    } catch {
      // not a file (run by hand on a terminal)
    }
    logged = Buffer.byteLength(line);
  }
  process.stdout.write(line);
}

/** Binds the mutex; false when another supervisor of the project holds it. */
function takeMutex(name: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen({ path: name }, () => resolve(server));
  });
}

/** When a supervisor checks that it is in its project's monitor cgroup (main below). */
const MONITOR_GROUP_CHECK_MS = 1000;

/** Moves this process into the project's monitor cgroup unless it is there; a failure is logged. */
async function joinMonitorGroup(project: string): Promise<void> {
  try {
    // Through the runtime's second API: its index brings launch, mounts and seccomp besides.
    const { inMonitorGroup, placeInMonitorGroup } = await import('../runtime/control.js');
    if (!(await inMonitorGroup(project))) await placeInMonitorGroup(project, process.pid);
  } catch (e) {
    log(`cannot move into the project's monitor cgroup (it stays in its caller's): ${e instanceof Error ? e.message : String(e)}`);
  }
  mark('supervisor: in its monitor group');
}

async function main(): Promise<void> {
  mark('supervisor: modules loaded');
  const [project, run, lib, sockets] = process.argv.slice(2);
  const handed = parseHandedSockets(sockets);
  if (!project || !run || !lib || (sockets !== undefined && handed === undefined)) {
    process.stderr.write(`usage: supervisor <project> <run root> <lib root> [${SOCKETS_ARGUMENT}<json>]\n`);
    process.exit(2);
  }
  const roots = { run, lib };
  const paths = supervisorPaths(roots, project);
  // Inherited through exec, the handed sockets are not close-on-exec: every child (a healthcheck's
  // helper, a relaunched service's launcher) would hold them, the mutex and the ports included.
  if (handed !== undefined) for (const fd of handedFds(handed)) setCloexec(fd);
  // The `stack` that started it bound the mutex for it; one started otherwise binds it here.
  const mutex = handed !== undefined ? { close: () => closeSync(handed.mutex) } : await takeMutex(paths.mutex);
  mark('supervisor: mutex');
  if (!mutex) {
    log(`another supervisor of project ${project} runs; leaving`);
    process.exit(ALREADY_RUNNING);
  }
  const self: PidRecord = { pid: process.pid, startTime: readStartTime(process.pid) ?? 0, bootId: readBootId(), since: new Date().toISOString() };
  await writeFile(paths.pidFile, self);
  // A dead predecessor's socket file (a handed socket is bound there already).
  if (handed === undefined && !isAbstract(paths.socket)) await rm(paths.socket, { force: true });
  const supervisor = new Supervisor(project, roots, log, await readRememberedPorts(paths.ports), handed);
  let closing: Promise<void> | undefined;
  const shutdown = (why: string): Promise<void> =>
    (closing ??= (async () => {
      log(`stopping (${why}); services keep running`);
      await supervisor.close();
      server.close();
      if (!isAbstract(paths.socket)) await rm(paths.socket, { force: true });
      const current = await readPidRecord(paths.pidFile);
      if (current?.pid === self.pid && current.startTime === self.startTime) await rm(paths.pidFile, { force: true });
      await rm(paths.status, { force: true }); // a status no one publishes any more is not shown (ps checks the pid too)
      mutex.close();
      setImmediate(() => process.exit(0));
    })());
  const handle = async (request: Request): Promise<Reply> => {
    switch (request.command) {
      case 'status':
        return { ok: true, status: await supervisor.status() };
      case 'ping':
        return { ok: true };
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
  const server = await serve(paths.socket, handle, handed?.control);
  mark('supervisor: serving');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => void supervisor.reload());
  log(`supervisor of project ${project} started (pid ${process.pid})`);
  await supervisor.start();
  // Born in the group through the launcher; a supervisor started otherwise, or whose launcher
  // could not move, moves itself. Checked a second after its start: loading the runtime for it holds this thread
  // ~12-15 ms, and the requests that waited for its start (a `ps`, a `down` right after `up`)
  // are answered first.
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

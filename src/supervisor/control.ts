// Starting, asking and stopping a project's supervisor from the CLI and the executor. The
// supervisor is found through its pid file (pid + start time: pids are reused) and its
// control socket; a dead one leaves at most those two files, which stop removes.
import type { Socket } from 'node:net';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { childProcess } from '../sys/builtin.js';
import { isSameProcess, readBootId } from '../sys/proc.js';
import { mark } from '../trace.js';
import { STANDBY_ARGUMENT } from '../names.js';
import { bundled } from '../bundled.js';
import { RECORD_FILE_MODE, STATE_DIR_MODE, stateRoots, type StateRoots } from '../state/paths.js';
import { readPidRecord, type PidRecord } from './files.js';
import { READY_FD_VARIABLE, supervisorPaths, type SupervisorPaths } from './paths.js';
import { send, type SupervisorStatus } from './protocol.js';
import { nodeHelperEnv } from '../sys/node-env.js';

/** How long a new supervisor may take to answer on its socket. */
const START_TIMEOUT_MS = 15_000;
/**
 * The supervisor is a long-lived, mostly idle process. V8's young generation kept at 1 MiB a half
 * (16 by default): with the default it sat at 110 MiB RSS for 200 services (69 MiB of it
 * anonymous), with this at 67 MiB (25). No background threads for V8's GC and compiler
 * (--single-threaded): 61 MiB (18). bench/portfwd.mjs through the forwarder it runs, with these
 * flags against without: 992 vs 900 MiB/s, 3257 vs 3067 connections/s (no loss). (--lite-mode
 * would save 8 MiB more but cost a fifth of the connection rate.) --expose-gc: the supervisor
 * collects fully 3 s after each change it read (supervisor.ts COMPACT_AFTER_MS): at 200
 * services after a fresh `up`, 60-62 MB RSS by hand (anonymous 18-19) and 64.8 in
 * bench/scale.mjs, instead of 64-72 (22-31).
 * --compact-on-every-full-gc: that collection also compacts the old space, whose pages V8
 * otherwise keeps half empty: at 200 services its heap after it was 8.6 MB (6.3 used) instead
 * of 12.4 (6.3 used), RSS 57.8 MB instead of 59.9 by hand (--optimize-for-size: no change).
 * A smaller old space (--max-old-space-size=128), UV_THREADPOOL_SIZE=2 or MALLOC_ARENA_MAX=2
 * changed nothing measurable; ~42 MB of the RSS are pages of node's own binary.
 */
const SUPERVISOR_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded', '--expose-gc', '--compact-on-every-full-gc'];
/** Its log is cut when it grew past this at a start. */
const LOG_MAX_BYTES = 1024 * 1024;

/**
 * The program a supervisor runs: STACK_SUPERVISOR_ENTRY when set (tests point it at a fresh
 * bundle), else from the bundle dist/bundle/supervisor.cjs, else main.js next to this module in
 * dist/ (from src/ under a test runner: dist's).
 */
export function supervisorEntry(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STACK_SUPERVISOR_ENTRY) return env.STACK_SUPERVISOR_ENTRY;
  const here = import.meta.url; // in the bundle too, this module's URL in dist/ (scripts/bundle.mjs)
  if (bundled) return fileURLToPath(new URL('../bundle/supervisor.cjs', here));
  if (here.endsWith('.ts')) return fileURLToPath(new URL('../../dist/supervisor/main.js', here));
  return fileURLToPath(new URL('./main.js', here));
}

/** The running supervisor's pid record, or undefined when none runs (a stale file is not believed). */
export async function runningSupervisor(project: string, roots: StateRoots = stateRoots()): Promise<PidRecord | undefined> {
  const record = await readPidRecord(supervisorPaths(roots, project).pidFile);
  if (!record || record.bootId !== readBootId() || !isSameProcess(record.pid, record.startTime)) return undefined;
  return record;
}

async function answers(socket: string): Promise<boolean> {
  try {
    return (await send(socket, { command: 'status' }, 2000)).ok;
  } catch {
    return false;
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/** A supervisor process as ensureSupervisor follows it while it starts. */
interface StartedSupervisor {
  readonly pid: number;
  /** Its exit code once it exited, else null. */
  readonly exited: () => number | null;
  /** Settles when it says it serves (a line on fd 3) or leaves (the pipe closes). */
  readonly signalled: Promise<void>;
  /** Settles once it is in the project's monitor group (or that failed: it moves itself). */
  readonly placed: Promise<void>;
}

/**
 * One of libuv's threads in the supervisor waits on its services' exits (sys/exit-watch.ts): a
 * UV_THREADPOOL_SIZE below 2 is raised to 2, so that thread is never its only one.
 */
function threadsForExitWatch(env: NodeJS.ProcessEnv): { UV_THREADPOOL_SIZE?: string } {
  const size = env.UV_THREADPOOL_SIZE;
  return size !== undefined && !(Number(size) >= 2) ? { UV_THREADPOOL_SIZE: '2' } : {};
}

/**
 * Spawns the supervisor's program detached (setsid) with `args`, its output to `out`, its
 * stdin `stdin`; its ready word comes on fd 3, so the caller waits for the event rather than
 * polling on a timer.
 */
function spawnProgram(args: readonly string[], out: number, stdin: 'ignore' | 'pipe') {
  // Loaded here: node:child_process (with net and dgram, which it loads) costs `ps` and
  // `status`, which only read, ~5 ms of compiling. Loaded synchronously: behind an import()'s
  // await, the standby's spawn waited for the spec loader's 100 ms of synchronous loading that
  // `up` starts right after it (traced: the standby ran 65 ms after `standby: starting`).
  const { spawn } = childProcess();
  const child = spawn(process.execPath, [...SUPERVISOR_NODE_FLAGS, supervisorEntry(), ...args], {
    detached: true,
    stdio: [stdin, out, out, 'pipe'],
    cwd: '/',
    env: { ...nodeHelperEnv(process.env), [READY_FD_VARIABLE]: '3', ...threadsForExitWatch(process.env) },
  });
  let code: number | null = null;
  child.once('exit', (c, signal) => (code = c ?? (signal ? 128 : 1)));
  child.once('error', () => (code = 127));
  child.unref();
  const ready = child.stdio[3] as Socket | null;
  const signalled = new Promise<void>((resolve) => {
    if (!ready) return resolve();
    ready.unref(); // the pipe never keeps this process alive
    ready.once('data', () => resolve());
    ready.once('close', () => resolve());
    ready.once('error', () => resolve());
  }).finally(() => ready?.destroy());
  return { child, pid: child.pid ?? 0, exited: () => code, signalled };
}

/**
 * Into the project's monitor group while it loads (off its path: a move waits for an RCU
 * grace period); it moves itself when this did not happen in time. (The runtime is loaded
 * here, not at the top: `ps` and `status` never start a supervisor.)
 */
function place(project: string, pid: number): Promise<void> {
  if (pid === 0) return Promise.resolve();
  return import('../runtime/index.js').then(({ placeInMonitorGroup }) => placeInMonitorGroup(project, pid)).catch(() => undefined);
}

/**
 * Opens a supervisor log for appending (0600: what the supervisor prints may quote a service's
 * environment), cut when it grew past LOG_MAX_BYTES: the project's for a spawn and for a
 * supervisor handed its project on standby (main.ts), the run root's standby log.
 */
export function openSupervisorLog(paths: Pick<SupervisorPaths, 'dir' | 'log'>): number {
  mkdirSync(paths.dir, { recursive: true, mode: STATE_DIR_MODE });
  if (existsSync(paths.log) && statSync(paths.log).size > LOG_MAX_BYTES) truncateSync(paths.log, 0);
  return openSync(paths.log, 'a', RECORD_FILE_MODE);
}

/** Spawns the supervisor of `project`, its output appended to its log. */
async function spawnSupervisor(project: string, roots: StateRoots): Promise<StartedSupervisor> {
  const out = openSupervisorLog(supervisorPaths(roots, project));
  try {
    const started = spawnProgram([project, roots.run, roots.lib], out, 'ignore');
    return { ...started, placed: place(project, started.pid) };
  } finally {
    closeSync(out);
  }
}

type Standby = ReturnType<typeof spawnProgram>;

/** The standby supervisor this process started (startStandbySupervisor) and has not handed a project yet. */
let standby: Standby | undefined;

/**
 * Starts a supervisor process that loads its modules and waits, on its stdin, for the project
 * it is to supervise (main.ts STANDBY_ARGUMENT): `up` starts one when it expects to need a new
 * supervisor (a spec it has not loaded before, a project no supervisor runs for), so Node's
 * start and the module loading (~250 ms on 2 busy cores) overlap the spec's loading and the
 * walk, where they followed them; ensureSupervisor hands it the project instead of spawning.
 * One that gets none (endStandbySupervisor, or this process's exit closing its stdin) leaves.
 * Its output, until it has a project, goes to <run root>/.supervisor-standby.log.
 */
export function startStandbySupervisor(roots: StateRoots = stateRoots()): void {
  if (standby !== undefined) return;
  mark('standby: starting');
  try {
    const out = openSupervisorLog({ dir: roots.run, log: join(roots.run, '.supervisor-standby.log') }); // no project's name starts with a dot
    try {
      standby = spawnProgram([STANDBY_ARGUMENT], out, 'pipe');
      (standby.child.stdin as Socket | null)?.unref(); // never keeps this process alive
      standby.child.stdin?.on('error', () => undefined); // one that left: ensureSupervisor spawns
    } finally {
      closeSync(out);
    }
  } catch {
    standby = undefined; // ensureSupervisor spawns
  }
}

/** Ends the standby supervisor unless it was handed a project (it leaves on the end of its stdin). */
export function endStandbySupervisor(): void {
  standby?.child.stdin?.end();
  standby = undefined;
}

/** The standby supervisor, handed `project`; undefined when there is none or it left. */
function takeStandby(project: string, roots: StateRoots): StartedSupervisor | undefined {
  const s = standby;
  standby = undefined;
  if (s === undefined || s.exited() !== null || s.child.stdin === null || s.child.stdin.destroyed) return undefined;
  s.child.stdin.end(`${JSON.stringify([project, roots.run, roots.lib])}\n`);
  return { pid: s.pid, exited: s.exited, signalled: s.signalled, placed: place(project, s.pid) };
}

/**
 * Makes sure the project's supervisor runs: a live one is told to reread the records; else a
 * new one is started, which rebuilds everything from them. Resolves once it answers: with
 * `soon`, a live one answers before its reread (for a plan that changed only processes: the
 * ports and names it serves are the same; it acts on the new processes a moment later); with
 * `unchanged`, a live one is not asked at all (nothing changed that it would reread).
 */
export async function ensureSupervisor(project: string, roots: StateRoots = stateRoots(), options: { soon?: boolean; unchanged?: boolean } = {}): Promise<PidRecord> {
  const paths = supervisorPaths(roots, project);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    const running = await runningSupervisor(project, roots);
    // Left alone only when it answers: a wedged one (stopped, its loop blocked) is dealt with below.
    if (running && options.unchanged === true && (await answers(paths.socket))) return running;
    if (running) {
      try {
        const reply = await send(paths.socket, { command: 'reload', ...(options.soon === true && { soon: true }) }, 5000);
        if (reply.ok) return running;
      } catch {
        // starting up (no socket yet) or shutting down: look again
      }
    } else if (attempt === 0 || Date.now() < deadline) {
      mark('ensure: spawning');
      const child = takeStandby(project, roots) ?? (await spawnSupervisor(project, roots));
      mark('ensure: spawned');
      let heard = false;
      for (;;) {
        const now = await runningSupervisor(project, roots);
        if (now && (await answers(paths.socket))) {
          // Ours lost the race to another one: see it leave, so it cannot start after a stop.
          while (now.pid !== child.pid && child.exited() === null && Date.now() < deadline) await sleep(10);
          await child.placed;
          return now;
        }
        const code = child.exited();
        // Lost the race to another supervisor (which then answers), or failed.
        if (code !== null && code !== 3) {
          throw new Error(`the supervisor of project ${project} exited with code ${code} at start:\n${logTail(paths.log)}`);
        }
        if (code === 3 && !(await runningSupervisor(project, roots))) break;
        if (Date.now() > deadline) break;
        // its word (or its exit) while it has not spoken, else a look again a little later
        if (heard) await sleep(50);
        else {
          const pause = new AbortController();
          await Promise.race([child.signalled.then(() => (heard = true)), sleep(50, undefined, { signal: pause.signal }).catch(() => undefined)]);
          pause.abort(); // no timer left behind to hold the process after the answer
        }
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`the supervisor of project ${project} did not answer within ${START_TIMEOUT_MS} ms:\n${logTail(paths.log)}`);
    }
    await sleep(50);
  }
}

/** Tells the running supervisor to reread the records now; false when none runs. */
export async function reloadSupervisor(project: string, roots: StateRoots = stateRoots()): Promise<boolean> {
  if (!(await runningSupervisor(project, roots))) return false;
  try {
    return (await send(supervisorPaths(roots, project).socket, { command: 'reload' }, 5000)).ok;
  } catch {
    return false;
  }
}

/** What the running supervisor reports, or undefined when none runs. */
export async function supervisorStatus(project: string, roots: StateRoots = stateRoots()): Promise<SupervisorStatus | undefined> {
  if (!(await runningSupervisor(project, roots))) return undefined;
  try {
    const reply = await send(supervisorPaths(roots, project).socket, { command: 'status' }, 5000);
    return reply.ok ? reply.status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops the project's supervisor (services keep running) and removes its files; a dead or
 * unresponsive one is killed (checked by start time) and its files removed all the same.
 * `asked` is called once: when the supervisor has answered `stop` (it then restarts and probes
 * nothing more: it answers before it closes), else once it is gone (none ran, or it was killed);
 * the promise settles once it is gone.
 */
export async function stopSupervisor(project: string, roots: StateRoots = stateRoots(), asked?: () => void): Promise<void> {
  const paths = supervisorPaths(roots, project);
  const running = await runningSupervisor(project, roots);
  if (running) {
    if (await send(paths.socket, { command: 'stop' }, 3000).then((reply) => reply.ok, () => false)) {
      asked?.();
      asked = undefined;
    }
    // Through a pidfd: its exit is seen when it happens (not at the next look of a polling
    // loop), and the pid is signalled only while it is still that supervisor.
    const { PinnedProcess } = await import('../sys/pidfd.js');
    const pinned = PinnedProcess.open(running.pid, running.startTime);
    try {
      if (pinned !== undefined && !(await pinned.waitExit(5000))) {
        pinned.signal(9);
        await pinned.waitExit(60_000);
      }
    } finally {
      pinned?.close();
    }
  }
  asked?.();
  await rm(paths.dir, { recursive: true, force: true });
}

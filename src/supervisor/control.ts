// Starting, asking and stopping a project's supervisor from the CLI and the executor. The
// supervisor is found through its pid file (pid + start time: pids are reused) and its
// control socket; a dead one leaves at most those two files, which stop removes.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSameProcess, readBootId, readStartTime } from '../sys/proc.js';
import { mark } from '../trace.js';
import { bundled } from '../bundled.js';
import { RECORD_FILE_MODE, STATE_DIR_MODE, stateRoots, type StateRoots } from '../state/paths.js';
import { readPidRecord, readRememberedPorts, writeFile, type PidRecord } from './files.js';
import { SOCKETS_ARGUMENT } from './handed.js';
import { supervisorPaths, type SupervisorPaths } from './paths.js';
import { send, type PublishedStatus, type SupervisorStatus } from './protocol.js';
import { readJsonSync, removeFolderSync } from '../state/atomic.js';
import { nodeHelperEnv } from '../sys/node-env.js';

/** A published status older than this is not believed (supervisor.ts renews it every STATUS_HEARTBEAT_MS). */
const PUBLISHED_FRESH_MS = 3000;
/**
 * How recent a published status must be for a no-op `up` to take its supervisor for one that
 * ticks, without asking it: a heartbeat (STATUS_HEARTBEAT_MS) and half of one more.
 */
const TICKING_MS = 1500;
/** How long after its start a supervisor that has published no status yet is taken for one starting. */
const STARTING_MS = 5000;
/** How long ensureSupervisor looks again for a supervisor that does not answer, or whose mutex is held. */
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

/**
 * Whether the supervisor on `socket` answers at all (a `ping`, answered whatever it is doing: a
 * status would wait for a reconcile of every service). Any answer counts: a supervisor of an
 * earlier build knows no `ping` and says so.
 */
async function answers(socket: string): Promise<boolean> {
  try {
    await send(socket, { command: 'ping' }, 2000);
    return true;
  } catch {
    return false;
  }
}

/** The last lines of the project's supervisor log ('' when there is none). */
export function supervisorLogTail(project: string, roots: StateRoots): string {
  return logTail(supervisorPaths(roots, project).log);
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/**
 * One of libuv's threads in the supervisor waits on its services' exits (sys/exit-watch.ts): a
 * UV_THREADPOOL_SIZE below 2 is raised to 2, so that thread is never its only one.
 */
function threadsForExitWatch(env: NodeJS.ProcessEnv): { UV_THREADPOOL_SIZE?: string } {
  const size = env.UV_THREADPOOL_SIZE;
  return size !== undefined && !(Number(size) >= 2) ? { UV_THREADPOOL_SIZE: '2' } : {};
}

/** A supervisor spawned: its pid, and when it is in the project's monitor group. */
interface SpawnedSupervisor {
  readonly pid: number;
  /**
   * Its start time when known already (a prepared launcher's, read as it was prepared): read from
   * /proc now, it waited for the exec of Node under way (the read blocks until the exec ends:
   * 4.2 ms of a fresh \`up -d\`'s profile).
   */
  readonly startTime?: number;
  /**
   * Resolves once it runs, placed (or not: it then moves itself), true; false when the launcher
   * could not run Node (its log says why). Never rejects. A prepared launcher (handOver) resolves
   * true once it has taken its descriptors: its exec of Node is not waited for.
   */
  readonly placed: Promise<boolean>;
}

/** How long a launcher may take to place itself and run Node before the supervisor is left to move itself. */
const PLACED_WAIT_MS = 2000;
/**
 * How long a prepared launcher may take to copy its descriptors (and say "t") before it is killed
 * and the supervisor started the other way (the descriptors are this process's until it took them).
 */
const TAKEN_WAIT_MS = 10_000;

/**
 * What the launcher says on its placement end before it closes (at the exec): '' once Node runs,
 * anything else when the exec failed (native/launcher.c exec_placed); a prepared launcher says
 * "t" once it has taken its descriptors and closes it then, or "take\t…" when it could not take
 * them (nothing runs). `ms` on, or when the descriptors' watcher gave up, undefined: it is not
 * waited for any longer. Closes `ours`.
 */
function placementSaid(ours: number, ms: number, modules: SpawnModules): Promise<string | undefined> {
  const { readyWatcher, readToEnd } = modules;
  const reading = readToEnd(ours, readyWatcher(), "the supervisor's placement");
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(undefined);
      void reading.stop(() => closeSync(ours));
    }, ms);
    const said = (text: string | undefined): void => {
      clearTimeout(timer);
      resolve(text);
      void reading.stop(() => closeSync(ours));
    };
    reading.ended.then(
      () => said(reading.text()),
      () => said(undefined),
    );
  });
}

/** What a spawn of the supervisor loads (sys/spawn.ts and the runtime: `ps` and `status` never start one). */
interface SpawnModules {
  readonly spawnDetached: typeof import('../sys/spawn.js').spawnDetached;
  readonly LAUNCHER_PATH: string;
  readonly monitorPlacement: typeof import('../runtime/index.js').monitorPlacement;
  readonly setNonBlocking: typeof import('../sys/libc.js').setNonBlocking;
  readonly socketPair: typeof import('../sys/libc.js').socketPair;
  readonly readyWatcher: typeof import('../sys/ready-watch.js').readyWatcher;
  readonly readToEnd: typeof import('../sys/fd-io.js').readToEnd;
}

async function spawnModules(): Promise<SpawnModules> {
  const [{ spawnDetached }, { LAUNCHER_PATH, monitorPlacement }, { setNonBlocking, socketPair }, { readyWatcher }, { readToEnd }] = await Promise.all([
    import('../sys/spawn.js'),
    import('../runtime/index.js'),
    import('../sys/libc.js'),
    import('../sys/ready-watch.js'),
    import('../sys/fd-io.js'),
  ]);
  return { spawnDetached, LAUNCHER_PATH, monitorPlacement, setNonBlocking, socketPair, readyWatcher, readToEnd };
}

/** Node running the supervisor's program for `project` (its last argument, the sockets', comes apart). */
function supervisorCommand(project: string, roots: StateRoots): string[] {
  return [process.execPath, ...SUPERVISOR_NODE_FLAGS, supervisorEntry(), project, roots.run, roots.lib];
}

const supervisorEnv = (): Record<string, string | undefined> => ({ ...nodeHelperEnv(process.env), ...threadsForExitWatch(process.env) });

/**
 * Spawns the supervisor's program detached (setsid) with `args`, its output to `out`, and
 * `sockets` as its descriptors 3, 4, ...; resolves to its pid. It is spawned through the
 * launcher (native/launcher/place.h), born in the project's monitor group on cgroup v2 where it
 * can be and moving itself there on v1's (monitorPlacement), in C and in its own process, and
 * execs Node with the same pid: the supervisor is born there. The launcher is given one end of
 * a socket pair, which its exec closes: `placed` is that end's close. Without a built launcher,
 * Node is spawned straight away and moves itself (main.ts).
 */
async function spawnProgram(project: string, roots: StateRoots, last: string, out: number, sockets: readonly number[]): Promise<SpawnedSupervisor> {
  let nothing: number | undefined;
  let pair: [number, number] | undefined;
  try {
    const modules = await spawnModules();
    const { spawnDetached, LAUNCHER_PATH, monitorPlacement, setNonBlocking, socketPair, readyWatcher } = modules;
    const node = [...supervisorCommand(project, roots), last];
    const fds = [(nothing = openSync('/dev/null', 'r')), out, out, ...sockets];
    let argv = node;
    let bornIn = {};
    if (existsSync(LAUNCHER_PATH)) {
      pair = socketPair("the supervisor's placement");
      const placement = monitorPlacement(project);
      argv = [LAUNCHER_PATH, ...placement.args, `--placed-fd=${fds.length}`, '--exec', ...node];
      fds.push(pair[1]);
      bornIn = placement.spawn;
    }
    const pid = await spawnDetached(argv[0]!, argv.slice(1), { fds, cwd: '/', env: supervisorEnv(), ...bornIn });
    if (pair === undefined) return { pid, placed: Promise.resolve(true) };
    closeSync(pair[1]);
    const ours = pair[0];
    pair = undefined;
    // The end's close (or a byte on it) read as it comes, without a net.Socket (node:net and the
    // streams, which nothing else of an `up` loads). Without a watcher it is not waited for.
    try {
      readyWatcher();
      setNonBlocking(ours); // read as it turns ready: a read of it blocked this thread until the exec
    } catch {
      closeSync(ours); // not waited for: the supervisor moves itself when it was not placed
      return { pid, placed: Promise.resolve(true) };
    }
    // Not said by the time: not waited for (the supervisor moves itself when it was not placed).
    return { pid, placed: placementSaid(ours, PLACED_WAIT_MS, modules).then((said) => said === undefined || said === '') };
  } catch (e) {
    // Not started (no such program, no resources).
    throw new Error(`cannot start the supervisor: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    if (nothing !== undefined) closeSync(nothing);
    for (const fd of pair ?? []) closeSync(fd);
  }
}

/** A supervisor's launcher spawned ahead of its start (prepareSupervisor), waiting for its descriptors. */
interface PreparedSupervisor {
  readonly pid: number;
  /** Its start time (/proc): the pid names it only while this holds (pids are reused). */
  readonly startTime: number;
  /** Our end of its stdin: the numbers of its descriptors and its last argument go there, once. */
  readonly request: number;
  /** Our end of its placement pair (placementSaid), non-blocking. */
  readonly placement: number;
  readonly modules: SpawnModules;
}

/** A preparation under way or done, which its discard may cancel before the spawn. */
interface Preparation {
  prepared: Promise<PreparedSupervisor | undefined>;
  cancelled: boolean;
}

/** Prepared launchers no start has taken yet, by run root and project (runKey). */
const preparedSupervisors = new Map<string, Preparation>();

/** What names a project of a run root in this process's maps. */
const runKey = (project: string, roots: StateRoots): string => `${roots.run}\0${project}`;

/**
 * Spawns the launcher of the supervisor this run is to start after its walk (none runs now):
 * it is born in the project's monitor group on a v2 hierarchy (the unified one beside v1's too;
 * a move through cgroup.procs would wait for an RCU grace period, 10-20 ms here, holding the
 * kernel's cgroup mutex) and joins the v1 ones while the walk goes on; the start then hands it
 * its descriptors and last argument (native/launcher/take.h), and it runs Node already placed.
 * Nothing when no launcher is built or a supervisor runs.
 * discardPreparedSupervisor lets go of one no start took.
 */
export function prepareSupervisor(project: string, roots: StateRoots = stateRoots()): void {
  const key = runKey(project, roots);
  if (preparedSupervisors.has(key)) return;
  const preparation: Preparation = { prepared: Promise.resolve(undefined), cancelled: false };
  preparation.prepared = spawnPrepared(project, roots, preparation).catch(() => undefined);
  preparedSupervisors.set(key, preparation);
}

async function spawnPrepared(project: string, roots: StateRoots, preparation: Preparation): Promise<PreparedSupervisor | undefined> {
  if ((await runningSupervisor(project, roots)) !== undefined) return undefined;
  const modules = await spawnModules();
  const { spawnDetached, LAUNCHER_PATH, monitorPlacement, setNonBlocking, socketPair, readyWatcher } = modules;
  // Let go of before it was spawned (a run refused, cut short): none is, and no group is made.
  if (preparation.cancelled || !existsSync(LAUNCHER_PATH)) return undefined;
  readyWatcher(); // throws where none can be made: then it is started the other way
  const opened: number[] = [];
  try {
    const request = socketPair("the supervisor's descriptors");
    opened.push(...request);
    const placement = socketPair("the supervisor's placement");
    opened.push(...placement);
    const nothing = openSync('/dev/null', 'r+');
    opened.push(nothing);
    const into = monitorPlacement(project);
    const argv = [...into.args, '--placed-fd=3', `--take-fds=${process.pid}`, '--exec', ...supervisorCommand(project, roots)];
    const pid = await spawnDetached(LAUNCHER_PATH, argv, { fds: [request[1], nothing, nothing, placement[1]], cwd: '/', env: supervisorEnv(), ...into.spawn });
    const startTime = readStartTime(pid);
    if (startTime === undefined) return undefined; // gone already: its descriptors are closed below
    setNonBlocking(placement[0]);
    for (const fd of [request[1], placement[1], nothing]) closeSync(fd);
    opened.length = 0;
    return { pid, startTime, request: request[0], placement: placement[0], modules };
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/** The preparation for `project`, taken out of the map (no later take or discard finds it). */
function takePreparation(project: string, roots: StateRoots): Preparation | undefined {
  const key = runKey(project, roots);
  const preparation = preparedSupervisors.get(key);
  preparedSupervisors.delete(key);
  return preparation;
}

/**
 * Lets go of the prepared launcher no start took: one not spawned yet never is; one spawned is
 * given the end of its stdin, and leaves without running anything.
 */
export function discardPreparedSupervisor(project: string, roots: StateRoots = stateRoots()): void {
  const preparation = takePreparation(project, roots);
  if (preparation === undefined) return;
  preparation.cancelled = true;
  void preparation.prepared.then((prepared) => {
    if (prepared === undefined) return;
    closeSync(prepared.request);
    closeSync(prepared.placement);
  });
}

/**
 * Hands the prepared launcher its descriptors (`fds`: its 1, 2, 3, ...) and last argument, and
 * waits until it has taken them (they stay open here until then; native/launcher.c says "t"
 * then, before its exec): the supervisor, or undefined when it could not take them or said
 * nothing in time (then killed), and the caller starts it the other way.
 */
async function handOver(prepared: PreparedSupervisor, fds: readonly number[], last: string): Promise<SpawnedSupervisor | undefined> {
  const said = placementSaid(prepared.placement, TAKEN_WAIT_MS, prepared.modules);
  try {
    writeSync(prepared.request, `${fds.join(' ')}\n${last}`);
  } catch {
    // gone (EPIPE): its placement end says so
  } finally {
    closeSync(prepared.request);
  }
  const text = await said;
  if (text === undefined) {
    try {
      if (isSameProcess(prepared.pid, prepared.startTime)) process.kill(prepared.pid, 'SIGKILL');
    } catch {
      // gone
    }
    return undefined;
  }
  // "t": taken, its exec of Node under way, not waited for (1-3 ms here; should it fail, the
  // supervisor's log says why, and the next command finds no supervisor and starts one). Else it
  // could not take them ("take\t…"), or died before it said so (its end closed, nothing said).
  if (text !== 't') return undefined;
  return { pid: prepared.pid, startTime: prepared.startTime, placed: Promise.resolve(true) };
}

/**
 * Opens the project's supervisor log for appending (0600: what the supervisor prints may quote a
 * service's environment), cut when it grew past LOG_MAX_BYTES; makes the supervisor's folder.
 */
function openSupervisorLog(paths: Pick<SupervisorPaths, 'dir' | 'log'>): number {
  mkdirSync(paths.dir, { recursive: true, mode: STATE_DIR_MODE });
  if (existsSync(paths.log) && statSync(paths.log).size > LOG_MAX_BYTES) truncateSync(paths.log, 0);
  return openSync(paths.log, 'a', RECORD_FILE_MODE);
}

/**
 * Starts the supervisor of `project` socket-activated (activation.ts): its sockets are bound
 * here and it inherits them, so it is not waited for. Its pid file is written here too, before
 * the caller lets go of the project's lock: a `down` right after finds it and asks it to stop
 * (the request waits on its control socket until it serves). It is born in the project's
 * monitor group (spawnProgram).
 */
async function activateSupervisor(project: string, roots: StateRoots): Promise<PidRecord> {
  mark('ensure: activating');
  const paths = supervisorPaths(roots, project);
  activation ??= await import('./activation.js');
  // Its mutex first: nothing of the project's supervisor folder (its log, its socket file) is
  // touched while another supervisor holds it.
  const sockets = await activation.bindSupervisorSockets(project, roots, await readRememberedPorts(paths.ports));
  let spawned: SpawnedSupervisor;
  try {
    const out = openSupervisorLog(paths);
    try {
      const last = `${SOCKETS_ARGUMENT}${JSON.stringify(sockets.handed)}`;
      const prepared = await takePreparation(project, roots)?.prepared;
      spawned = (prepared && (await handOver(prepared, [out, out, ...sockets.fds], last))) ?? (await spawnProgram(project, roots, last, out, sockets.fds));
    } finally {
      closeSync(out);
    }
  } finally {
    sockets.close();
  }
  const { pid } = spawned;
  const record: PidRecord = { pid, startTime: spawned.startTime ?? readStartTime(pid) ?? 0, bootId: readBootId(), since: new Date().toISOString() };
  // Out of the caller's cgroups before this command ends: a session that ends with it (systemd
  // kills a login scope's processes) must not take the supervisor along.
  if (!(await spawned.placed)) throw new Error(`cannot start the supervisor: the launcher could not run node; its log ${paths.log} says why:\n${logTail(paths.log)}`);
  mark('ensure: placed');
  await writeFile(paths.pidFile, record);
  mark('ensure: activated');
  return record;
}

/**
 * The DNS listener on a new bridge's gateway, bound now for the supervisor this run will start
 * after its walk (none runs for the project): activation.ts keeps it until then.
 */
export async function bindDnsEarly(project: string, roots: StateRoots, gateway: string): Promise<void> {
  if ((await runningSupervisor(project, roots)) !== undefined) return; // it binds the listener itself when told
  activation ??= await import('./activation.js');
  activation.bindEarly(project, roots, gateway);
}

/** activation.ts once bindDnsEarly loaded it (it keeps the early listeners): `ps` never loads it. */
let activation: typeof import('./activation.js') | undefined;

/** Activations under way in this process, by run root and project. */
const activating = new Map<string, Promise<PidRecord>>();

/**
 * One activation at a time for a project: the ensures of this process that find no supervisor
 * together (the depends_on waits of one `up` for services that are healthy) share it. Between
 * processes, the project's lock keeps `up`, `run` and the supervisor's restarts apart; should two
 * start one all the same, the second to bind the project's mutex leaves, and one whose pid file
 * names another leaves within a second (main.ts).
 */
function activateOnce(project: string, roots: StateRoots): Promise<PidRecord> {
  const key = runKey(project, roots);
  let started = activating.get(key);
  if (started === undefined) {
    started = activateSupervisor(project, roots).finally(() => activating.delete(key));
    activating.set(key, started);
  }
  return started;
}

/**
 * Makes sure the project's supervisor runs: a live one is told to reread the records (with
 * `soon`, it answers before its reread: a plan that changed only processes changed no port or
 * name it serves; with `unchanged`, it is only asked whether it answers: nothing changed that
 * it would reread); else a new one is started socket-activated, which rebuilds everything from
 * the records once it runs.
 */
export async function ensureSupervisor(project: string, roots: StateRoots = stateRoots(), options: { soon?: boolean; unchanged?: boolean } = {}): Promise<PidRecord> {
  const paths = supervisorPaths(roots, project);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const running = await runningSupervisor(project, roots);
    if (!running) {
      try {
        return await activateOnce(project, roots);
      } catch (e) {
        // Its mutex is held: by one starting that another `stack` has not recorded yet, or one
        // leaving. Looked at again, as a running one that does not answer is.
        if ((e as Error).name !== 'SupervisorMutexTaken') throw e;
        if (Date.now() > deadline) {
          throw new Error(`a supervisor of project ${project} that its pid file does not name holds the project's mutex, ${START_TIMEOUT_MS} ms on (see \`stack gc\`)`);
        }
      }
    } else {
      // Started by another `stack` meanwhile: the listeners bound early for a new one are its to bind.
      activation?.releaseEarly(project, roots);
      // Nothing to tell it: left alone when it need not be asked (ticking) or answers a ping; a
      // wedged one (stopped, its loop blocked) is dealt with below.
      if (options.unchanged === true && (ticking(project, roots, running) || (await answers(paths.socket)))) return running;
      try {
        const reply = await send(paths.socket, { command: 'reload', ...(options.soon === true && { soon: true }) }, 5000);
        if (reply.ok) return running;
      } catch {
        // shutting down: look again
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
 * The supervisor's status as it last published it (supervisor.ts publishStatus), when that
 * still holds: its writer is the running supervisor, and every service in `seen` (name -> pid
 * of its running process, null when none runs, as the kernel shows it to the caller) is there
 * with that process, running, or not running. 'none' when no supervisor runs; undefined when the
 * file is missing, another's, older than PUBLISHED_FRESH_MS or behind the kernel: then ask
 * (supervisorStatus), which ticks first.
 * No socket, no node:net: a `ps` of 20 services 71.3 -> 68.1 ms.
 */
export async function publishedStatus(
  project: string,
  roots: StateRoots,
  seen: ReadonlyMap<string, number | null>,
): Promise<SupervisorStatus | 'none' | undefined> {
  const running = await runningSupervisor(project, roots);
  if (running === undefined) return 'none';
  const published = publishedBy(project, roots, running);
  if (published === undefined || published.age > PUBLISHED_FRESH_MS) return undefined;
  const { status } = published;
  const byName = new Map(status.services.map((s) => [s.name, s]));
  for (const [name, pid] of seen) {
    const published = byName.get(name);
    if (published === undefined) return undefined;
    if (pid === null ? published.state === 'running' : published.state !== 'running' || published.pid !== pid) return undefined;
  }
  return status as SupervisorStatus;
}

/**
 * Whether `running` need not be pinged to be taken for a supervisor that serves: it renewed its
 * published status within TICKING_MS (its loop runs: a ping costs a round trip and a tick of its
 * own, ~4 ms of a no-op \`up -d\`), or it was started less than STARTING_MS ago and has published
 * nothing yet (Node still loading it: its sockets, handed to it at its start, keep what comes
 * meanwhile). A ping of one starting waited for its start: up to 50 ms of a no-op \`up -d\` of 20
 * run right after the \`up -d\` that started it. Else (stopped, hung, a machine too busy to
 * tick) it is asked.
 */
function ticking(project: string, roots: StateRoots, running: PidRecord): boolean {
  const published = publishedBy(project, roots, running);
  if (published !== undefined) return published.age <= TICKING_MS;
  const age = Date.now() - Date.parse(running.since);
  return age >= 0 && age < STARTING_MS;
}

/**
 * The status `running` published and how long ago its file was renewed (supervisor.ts heartbeat:
 * every STATUS_HEARTBEAT_MS while it ticks; older, a supervisor that no longer ticks: stopped,
 * hung), when it names that supervisor (pid, start time) and project; else undefined (missing,
 * unreadable, another's, dated ahead of the clock).
 */
function publishedBy(project: string, roots: StateRoots, running: PidRecord): { status: PublishedStatus; age: number } | undefined {
  const path = supervisorPaths(roots, project).status;
  const mtime = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  if (mtime === undefined) return undefined;
  // A time ahead of the clock (the clock stepped back since it was written) proves nothing.
  const age = Date.now() - mtime;
  if (age < 0) return undefined;
  let status: Partial<PublishedStatus> | undefined;
  try {
    status = readJsonSync(path) as Partial<PublishedStatus> | undefined;
  } catch {
    return undefined;
  }
  if (status?.pid !== running.pid || status.startTime !== running.startTime || status.project !== project || !Array.isArray(status.services)) return undefined;
  return { status: status as PublishedStatus, age };
}

/**
 * Stops the project's supervisor (services keep running) and removes its files; a dead or
 * unresponsive one is killed (checked by start time) and its files removed all the same.
 * `asked` is called once: when the supervisor was sent SIGTERM (it then closes: a restart would
 * take the project lock, which callers hold), else once it is gone (none ran); the promise
 * settles once it is gone.
 */
export async function stopSupervisor(project: string, roots: StateRoots = stateRoots(), asked?: () => void): Promise<void> {
  const paths = supervisorPaths(roots, project);
  const running = await runningSupervisor(project, roots);
  if (running) {
    // Through a pidfd: the pid is signalled only while it is still that supervisor, and its exit
    // is seen when it happens (not at the next look of a polling loop). Told by SIGTERM, which it
    // handles as the control socket's `stop` (main.ts shutdown): no connection to make and no
    // answer to wait for (node:net's loading and a round trip, ~4 ms of every `down`). It
    // restarts nothing meanwhile: a restart takes the project lock, which the caller holds.
    const { PinnedProcess } = await import('../sys/pidfd.js');
    const pinned = PinnedProcess.open(running.pid, running.startTime);
    try {
      if (pinned?.signal(15)) {
        asked?.();
        asked = undefined;
      }
      if (pinned !== undefined && !(await pinned.waitExit(5000))) {
        pinned.signal(9);
        await pinned.waitExit(60_000);
      }
    } finally {
      pinned?.close();
    }
  }
  asked?.();
  // A few small files, removed synchronously: fs.rm loads Node's rimraf (~1.5 ms) and takes a
  // trip through libuv's pool a call, while a `down`'s stops keep this thread busy.
  removeFolderSync(paths.dir);
}

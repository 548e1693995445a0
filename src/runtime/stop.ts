// Stopping a service: its stop signal, its grace period, then every process left in its
// cgroup killed. Never by a saved pid alone: the process is pinned by a pidfd once its start
// time matches (src/sys/pidfd.ts), and every signal and every look at its exit goes through
// that descriptor, so a pid reused meanwhile is never signalled. And never waiting for nothing: a pid 1 without a handler for the signal cannot act on it
// (the kernel drops it, docs/architecture.md "Kernel facts"; SigCgt and SigBlk in /proc/PID/status
// tell), so it is killed at once. Nor after the signal: a pid 1 that took it but no longer
// catches it (node resets its handler and re-raises the signal, which the kernel drops) will
// never exit on it, so the looks go on while waiting and such a process is killed then.
import { mark } from '../trace.js';
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { readExitRecord, type ExitRecord } from '../state/exit-record.js';
import { PinnedProcess } from '../sys/pidfd.js';
import { parseProcs } from './cgroup/io.js';
import { blocksSignal, catchesSignal, processAgeMs, readCpuTicks, readIoCalls, readStatus, readWchan, withWchan, type ProcStatus } from './proc.js';

/** A running service as launch() returned it, with its cgroup (a CgroupHandle fits). */
export interface StopTarget {
  readonly service: string;
  readonly pid: number;
  readonly startTime: number;
  readonly exitPath: string;
  /** The monitor; when given and gone, no exit record is waited for. */
  readonly monitorPid?: number;
  readonly monitorStartTime?: number;
  readonly cgroup: { killAll(): Promise<void>; readonly procsFiles: readonly string[] };
}

/** The service's stop_signal and stop_grace_period. */
export interface StopOptions {
  /** `SIGTERM`, `TERM` or a number. */
  readonly signal: string;
  readonly graceMs: number;
  /**
   * Called once the service's processes are gone. A pid namespace's init killed (SIGKILL) whose
   * cgroup then holds no other process: at once, while the kernel tears it down (a process with
   * SIGKILL pending never returns to its code; what the cgroup cannot show ends with the init's
   * exit: finish() below). Otherwise once that init has exited, which the kernel lets happen
   * only once every other process of the namespace is gone; or, for one that is no such init,
   * once its cgroup was killed and its main process is gone. The stop's last steps wait for what
   * it returns: the wait for the init's exit, the kill of anything left in its cgroup that joined
   * it from outside the namespace (then, not before), and the wait for the exit record.
   */
  readonly gone?: () => void | Promise<void>;
  /** Called when the stop signal went and the grace period begins (the process may act on it). */
  readonly awaitsExit?: () => void;
}

/** How the stop went. */
export type StopOutcome =
  /** The process was already gone (or is another process now): only leftovers were killed. */
  | 'not-running'
  /** It acted on the signal and exited within the grace period. */
  | 'exited'
  /** It could not act on the signal (pid 1 without a handler, or ignoring it): killed without waiting. */
  | 'killed-at-once'
  /**
   * It took the signal, then could no longer act on it (a pid 1 that reset its handler and
   * re-raised the signal, as node does, or that ignores it now): killed without waiting.
   */
  | 'killed-after-signal'
  /** The grace period ran out: everything in its cgroup was killed. */
  | 'killed-after-grace';

export interface StopResult {
  readonly outcome: StopOutcome;
  /** The monitor's exit record, when the monitor lives to write it. */
  readonly record: ExitRecord | undefined;
}

/** How long the monitor may take to write the exit record once the workload is gone. */
const RECORD_WAIT_MS = 5000;
/** How long a SIGKILLed cgroup may take to empty. */
const KILL_WAIT_MS = 5000;
/** How long a SIGKILLed namespace init may take to exit before its cgroup is killed too. */
const NAMESPACE_KILL_WAIT_MS = 1000;

/** Signal number from a compose stop_signal; a UserError for a name the kernel lacks. */
export function signalNumber(service: string, name: string): number {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    // 1..SIGRTMAX (64 on Linux)
    if (n >= 1 && n <= 64) return n;
    throw new UserError('SIGNAL_UNKNOWN', `service "${service}": there is no signal number ${name}`, 'signals are numbered 1 to 64; or use a name such as SIGTERM');
  }
  const upper = name.toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const n = (osConstants.signals as Record<string, number | undefined>)[full];
  if (n === undefined) {
    throw new UserError('SIGNAL_UNKNOWN', `service "${service}": unknown stop_signal ${JSON.stringify(name)}`, 'use a name from signal(7), e.g. SIGTERM, SIGINT, SIGQUIT');
  }
  return n;
}

/** Whether a process can act on a signal, as far as one look at /proc can tell. */
export type SignalJudgement = 'can' | 'cannot' | 'unknown';

/**
 * What a process in this state would do with the signal. The kernel queues a blocked signal
 * whatever its disposition (inits such as tini take them with sigwait or a signalfd); an
 * unblocked one goes to a handler, or is dropped for a namespace's pid 1. A process that is
 * running cannot be judged: a sigtimedwait shows its waited signals unblocked until it sleeps.
 */
export function judgeSignal(status: ProcStatus, signal: number): SignalJudgement {
  if (signal === osConstants.signals.SIGKILL) return 'cannot'; // nothing to wait for: it just dies
  if (catchesSignal(status, signal) || blocksSignal(status, signal) || status.inSigwait) return 'can';
  if ((status.ignored & (1n << BigInt(signal - 1))) !== 0n) return 'cannot';
  if (status.nsPids.at(-1) !== 1) return 'can'; // the default action applies, except to a namespace's pid 1
  if (status.state !== 'S' || status.wchan === '' || status.wchan === '0') return 'unknown';
  return 'cannot';
}

/**
 * Whether the running process `pid` (started at `startTime`) cannot act on its stop signal
 * `signalName`, judged on one look at /proc, as a stop would judge it without waiting: a
 * namespace's pid 1 asleep without a handler for it, or ignoring it. A process that started in
 * the last YOUNG_MS counts only asleep in an event wait (its start-up is over); anything that
 * cannot be judged at once (running, gone, an unknown signal) is false. `down` plans with it
 * (planner/down.ts: such services are killed at once, their networks unplugged meanwhile).
 */
export function cannotActOnStop(pid: number, startTime: number, signalName: string): boolean {
  let signal: number;
  try {
    signal = signalNumber('', signalName);
  } catch {
    return false;
  }
  if (signal === osConstants.signals.SIGKILL) return true;
  // One read tells a handler or a block (most services that can act); wchan only for the rest.
  const quick = readStatus(pid, 'skip');
  if (quick === undefined || catchesSignal(quick, signal) || blocksSignal(quick, signal)) return false;
  const status = withWchan(quick, readWchan(pid));
  const age = processAgeMs(startTime);
  if ((age === undefined || age < YOUNG_MS) && !(status.state === 'S' && isEventWait(status.wchan))) return false;
  return judgeSignal(status, signal) === 'cannot';
}

/** How long to wait for a running main process to sleep so it can be judged. */
const JUDGE_BUDGET_MS = 1000;
/** A process younger than this may still be starting up (installing its signal handlers). */
const YOUNG_MS = 2000;
/** How long a young process may take to settle before the signal goes anyway. */
const SETTLE_BUDGET_MS = 1000;
/**
 * Kernel functions a process sleeps in when it waits for events (its start-up is over), as
 * /proc/PID/wchan names them: with the suffix the compiler may give a specialised copy
 * (`sigsuspend.isra.0`). sigsuspend is dash's `wait` (a `sh -c '… & wait'` service: without it,
 * such a service stopped in its first 2 s waited 30 ms of unchanged CPU time first), pause(2)
 * a program that only waits for signals.
 */
const EVENT_WAITS =
  /^(do_epoll_wait|ep_poll|do_select|core_sys_select|do_sys_poll|do_sigtimedwait|sigsuspend|__do_sys_pause|hrtimer_nanosleep|do_nanosleep|inet_csk_accept|sk_wait_data|unix_stream_read_generic|pipe_read|do_wait)(\.(isra|constprop|part)\.\d+)*$/;

/** Whether a process asleep in `wchan` waits for events (its start-up is over). */
export function isEventWait(wchan: string): boolean {
  return EVENT_WAITS.test(wchan);
}

/**
 * Waits (up to SETTLE_BUDGET_MS) until a process that started moments ago is idle: asleep, its
 * CPU time unchanged for 30 ms. A program still starting has not installed its own handler yet
 * (node's early one would take the signal and re-raise it into nothing): a restart right after
 * a start would otherwise wait out the whole grace period. Returns the status it read last when
 * that look found it asleep in an event wait (mayActOn judges that status, not a new read).
 * Answers at once, not through a promise, when its first look decides (most stops: an old
 * process, or one asleep in its event loop): a stop then awaits nothing before its signal
 * (stopAndRecord in executor/handlers/stop.ts).
 */
function settled(proc: PinnedProcess): ProcStatus | undefined | Promise<ProcStatus | undefined> {
  const age = processAgeMs(proc.startTime);
  if (age === undefined || age >= YOUNG_MS) return undefined;
  const status = readStatus(proc.pid);
  if (status === undefined || proc.exited()) return undefined; // gone
  // Asleep in an event loop's wait (node's epoll, a select, a sleep): done starting.
  if (status.state === 'S' && isEventWait(status.wchan)) return status;
  return settling(proc, status);
}

/** settled()'s looks after a first that did not decide (`first`, its status). */
async function settling(proc: PinnedProcess, first: ProcStatus): Promise<ProcStatus | undefined> {
  const { pid } = proc;
  const deadline = Date.now() + SETTLE_BUDGET_MS;
  let cpu: number | undefined;
  let quietSince = Date.now();
  for (let status: ProcStatus | undefined = first; ; status = readStatus(pid)) {
    if (status === undefined || proc.exited()) return undefined; // gone
    if (status.state === 'S' && isEventWait(status.wchan)) return status;
    const now = readCpuTicks(pid);
    if (now === undefined) return undefined; // gone
    if (now !== cpu || status.state !== 'S') {
      cpu = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= 30) return undefined;
    if (Date.now() >= deadline) return undefined;
    await sleep(5);
  }
}

/** What mayActOn answers: whether the process may act on the signal, with the status of its last look. */
interface Judged {
  readonly can: boolean;
  readonly status: ProcStatus | undefined;
}

/**
 * Whether the process may act on the signal: looks until it sleeps (a process just exec'd is
 * still running). With the status of the last look (undefined once it is gone). At once, not
 * through a promise, when the first look decides (as settled()); a namespace's pid 1 without a
 * handler for the signal, seen running, is looked at again (a promise), whatever its age.
 */
function mayActOn(proc: PinnedProcess, signal: number, seen?: ProcStatus): Judged | Promise<Judged> {
  const status = seen ?? readStatus(proc.pid);
  const first = judgeLook(proc, signal, status);
  return first ?? judging(proc, signal, status);
}

/** One look's answer for mayActOn, or undefined when the process is running and cannot be judged yet. */
function judgeLook(proc: PinnedProcess, signal: number, status: ProcStatus | undefined): Judged | undefined {
  if (status === undefined || proc.exited()) return { can: false, status: undefined }; // gone: nothing left to signal
  const judgement = judgeSignal(status, signal);
  return judgement === 'unknown' ? undefined : { can: judgement === 'can', status };
}

/** mayActOn's looks after a first (`status`) that could not judge, every 2 ms for up to JUDGE_BUDGET_MS. */
async function judging(proc: PinnedProcess, signal: number, status: ProcStatus | undefined): Promise<Judged> {
  const deadline = Date.now() + JUDGE_BUDGET_MS;
  for (;;) {
    if (Date.now() >= deadline) return { can: true, status }; // still running: the signal and the grace period decide
    await sleep(2);
    status = readStatus(proc.pid);
    const judged = judgeLook(proc, signal, status);
    if (judged !== undefined) return judged;
  }
}

/** A sleep that ends early when the kernel reports what is waited for. */
type Nap = (ms: number) => Promise<void>;

/**
 * A Nap that also ends when the monitor writes the exit record (inotify on its folder): the
 * monitor writes it right after it reaps the workload, so the end of a stop is seen when it
 * happens rather than at the next poll (the polls, 1 ms doubling to 50 ms, stay as the bound:
 * a monitor that is gone writes nothing). The watch is made at the first nap: a stop whose
 * looks find the process gone and the record written never naps (a service killed at once,
 * most often), and makes none (~0.03 ms each, node's fs.watch module ~0.6 ms at the first); a
 * write before it is seen at the next look. Plain sleeps when the folder cannot be watched.
 */
function exitWaker(exitPath: string): { nap: Nap; close(): void } {
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | null | undefined;
  const name = basename(exitPath);
  const watching = (): boolean => {
    if (watcher === undefined) {
      try {
        watcher = watch(dirname(exitPath), { persistent: false }, (_event, file) => {
          if (file === null || String(file).startsWith(name)) wake?.();
        });
        watcher.on('error', () => undefined);
      } catch {
        watcher = null;
      }
    }
    return watcher !== null;
  };
  const nap: Nap = (ms) => {
    if (!watching()) return sleep(ms);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        if (wake === done) wake = undefined;
        resolve();
      }
      wake = done;
    });
  };
  return { nap, close: () => watcher?.close() };
}

/**
 * Whether `proc` is pid 1 of a pid namespace of its own (read while it runs, so the pid is its).
 * `seen` is a status read of it a moment ago: its namespace pids are the same for its whole life.
 */
function ownNamespaceInit(proc: PinnedProcess, seen?: ProcStatus): boolean {
  const status = seen ?? readStatus(proc.pid);
  return status !== undefined && namespaceInit(status) && !proc.exited();
}

/** Whether a status (read while the process ran) is that of pid 1 of a pid namespace below the reader's. */
function namespaceInit(status: ProcStatus): boolean {
  const { nsPids } = status;
  return nsPids.length > 1 && nsPids[nsPids.length - 1] === 1;
}

/**
 * Whether the service's cgroup holds no process but its killed init `pid`, as the first of its
 * `procsFiles` lists them, and no group below it: every process of a service is in each of its
 * hierarchies (a child is born in its parent's groups; a launch and an exec join them in this
 * order, the first first), unless a privileged workload moved some into groups of its own. An
 * empty listing (the init gone already, or moved) says nothing: the caller waits for the exit,
 * at once when it happened. Read synchronously (two small reads: in a depends_on chain every
 * stop waits for them). False when either cannot be read.
 */
function aloneIn(procsFiles: readonly string[], pid: number): boolean {
  const procs = procsFiles[0];
  if (procs === undefined) return false;
  try {
    const listed = parseProcs(readFileSync(procs, 'utf8'));
    if (listed.length === 0 || listed.some((p) => p !== pid)) return false;
    // No group below it: cgroupfs (kernfs) counts a folder's links as 2 + its sub-folders, so
    // one stat tells what a listing of its ~30 files did (0.2 ms a stop in a `down` of 20's profile).
    return statSync(dirname(procs)).nlink <= 2;
  } catch {
    return false;
  }
}

/** Polls with a growing interval (1 ms doubling up to 50 ms) until `done` or `ms` pass; returns whether `done` became true. */
async function waitFor(done: () => boolean, ms: number, nap: Nap = (t) => sleep(t)): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let interval = 1; ; interval = Math.min(interval * 2, 50)) {
    if (done()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await nap(Math.min(interval, left));
  }
}

async function exitRecord(target: StopTarget, nap: Nap): Promise<ExitRecord | undefined> {
  // Most often written already (the monitor writes it as it reaps the workload, and the wait for
  // the exit ends on its inotify event): the monitor is pinned only to wait for it.
  const written = readExitRecord(target.exitPath);
  if (written !== undefined) return written;
  const known = target.monitorPid !== undefined && target.monitorStartTime !== undefined;
  const monitor = known ? PinnedProcess.open(target.monitorPid!, target.monitorStartTime!) : undefined;
  try {
    const monitorAlive = (): boolean => !known || (monitor !== undefined && !monitor.exited());
    await waitFor(() => readExitRecord(target.exitPath) !== undefined || !monitorAlive(), RECORD_WAIT_MS, nap);
    return readExitRecord(target.exitPath);
  } finally {
    monitor?.close();
  }
}

/**
 * Stops the service: `signal` to its main process and up to `graceMs` for it to exit (less when
 * it shows it cannot act on the signal, before or after it is sent), then SIGKILL to
 * everything left in its cgroup. Returns once the main process is gone and the
 * exit record (if its monitor lives) is written.
 */
export async function stopService(target: StopTarget, options: StopOptions): Promise<StopResult> {
  const signal = signalNumber(target.service, options.signal);
  const proc = PinnedProcess.open(target.pid, target.startTime);
  const alive = (): boolean => proc !== undefined && !proc.exited();
  const waker = exitWaker(target.exitPath);
  let told = false;
  const gone = async (): Promise<void> => {
    if (told) return;
    told = true;
    mark('stop: gone');
    await options.gone?.();
  };
  const finish = async (outcome: StopOutcome, seen?: ProcStatus): Promise<StopResult> => {
    // The init of its own pid namespace takes every process of that namespace with it (the
    // kernel kills them all, and none can fork meanwhile): one SIGKILL through the pidfd, and
    // the cgroup is empty once it has exited, unless something outside the namespace joined it.
    // Freezing to kill (cgroup v1, v2 before 5.14) costs synchronous writes of ~2 ms each on the
    // caller's thread; it is left for what remains. One deadline for both waits: a namespace held
    // up by a process in uninterruptible sleep gets the cgroup-wide kill after a second.
    let deadline = Date.now() + KILL_WAIT_MS;
    if (proc !== undefined && alive() && ownNamespaceInit(proc, seen)) {
      // Alone in its cgroup once killed, the service runs nothing any more: it is gone for what
      // waits on that (the stops of the services it depends on, a teardown's veths) while the
      // kernel tears it down (~0.5 ms a namespace, one after another in a depends_on chain).
      // The cgroup is read after the kill, when the init can no longer fork: a child forked
      // before is listed, and then the wait is for the init's exit, which comes after its
      // namespace's other processes are gone (the kernel waits). What the listing cannot show,
      // the init's exit ends too: a child forked in the very microseconds of the kill, and a
      // process entering the namespace from outside that has not joined the cgroup yet (an exec
      // being set up, which runs the service's code only once it joined).
      if (proc.signal(osConstants.signals.SIGKILL) && aloneIn(target.cgroup.procsFiles, target.pid)) {
        await gone(); // may wait for the other stops together (executor/stops-together.ts): the deadline is from then
        deadline = Date.now() + KILL_WAIT_MS;
      }
      if (await waitFor(() => proc.exited(), NAMESPACE_KILL_WAIT_MS, waker.nap)) await gone();
    } else if (proc !== undefined && !alive() && seen !== undefined && namespaceInit(seen)) {
      // Exited on its own, the init of its own pid namespace: the kernel ended it only once every
      // other process of that namespace was gone. It is gone for what waits on that (in a down of
      // 20 that exit on SIGTERM, their veths' deletion began ~0.3 ms a stop later, each waiting
      // for the cgroup's listing below); what joined its cgroup from outside is killed below.
      await gone();
    }
    await target.cgroup.killAll();
    if (proc !== undefined && !(await waitFor(() => proc.exited(), Math.max(0, deadline - Date.now()), waker.nap))) {
      throw new Error(`service ${target.service}: pid ${target.pid} survived SIGKILL of its cgroup for ${KILL_WAIT_MS} ms`);
    }
    await gone();
    return { outcome, record: await exitRecord(target, waker.nap) };
  };
  try {
    if (proc === undefined || !alive()) return await finish('not-running');
    return await signalAndWait(proc, signal, options.graceMs, alive, finish, waker.nap, options.awaitsExit);
  } finally {
    waker.close();
    proc?.close();
  }
}

/** The signal, then the grace period (cut short when the process shows it cannot act on it). */
async function signalAndWait(
  proc: PinnedProcess,
  signal: number,
  graceMs: number,
  alive: () => boolean,
  finish: (outcome: StopOutcome, seen?: ProcStatus) => Promise<StopResult>,
  nap: Nap,
  awaitsExit?: () => void,
): Promise<StopResult> {
  // SIGKILL is nothing to judge, nor to wait for a young process to settle for (its settling
  // only waits for it to be idle, up to a second for one that computes).
  if (signal === osConstants.signals.SIGKILL) return finish(alive() ? 'killed-at-once' : 'not-running');
  // Neither is awaited when it answered at once (see settled()).
  let seen = settled(proc);
  if (seen instanceof Promise) seen = await seen;
  let judged = mayActOn(proc, signal, seen);
  if (judged instanceof Promise) judged = await judged;
  if (!judged.can) return finish(alive() ? 'killed-at-once' : 'not-running', judged.status);
  const ioBefore = readIoCalls(proc.pid);
  proc.signal(signal);
  mark('stop: signalled');
  if (graceMs > 0) awaitsExit?.();
  // Looks at its signal state on each poll too: the handler that was there may be gone. A
  // process still starting up can take the signal in an early handler that resets itself (node's
  // own, before the program's `process.on('SIGTERM')` exists) and install a new one after: seen
  // without a handler and then with one again, it never got the signal its new handler waits
  // for, so the signal is sent once more.
  // A pid 1 seen without a handler after the signal, asleep, is killed at once only when no
  // program code handled the signal: node's own handler resets itself and re-raises (dropped
  // for a pid 1) without a single read or write, while a program's handler always shows one
  // (libuv wakes node's loop through a pipe; a shutdown writes, closes, logs). A program whose
  // handler ran (`process.once('SIGTERM', ...)` drops it) gets its grace period, as in compose.
  let gaveUp = false;
  let handlerGone = false;
  let first = graceMs > 0; // with no grace, the one look there is reads the status
  const exited = await waitFor(() => {
    if (!alive()) return true;
    // The first look comes right after the signal, microseconds after mayActOn's: the status is
    // read from the next one on (1 ms later), which is as soon as a changed handler matters.
    if (first) return (first = false);
    const status = readStatus(proc.pid);
    // Read by pid: believed only while the pinned process still runs (then the pid is still its).
    if (status === undefined || !alive()) return true;
    if (judgeSignal(status, signal) === 'cannot') {
      const io = readIoCalls(proc.pid);
      if (ioBefore !== undefined && io === ioBefore) return (gaveUp = true);
      return false;
    }
    const handled = catchesSignal(status, signal) || blocksSignal(status, signal) || status.inSigwait;
    if (!handled) handlerGone = true;
    else if (handlerGone) {
      handlerGone = false;
      proc.signal(signal); // false when it exited meanwhile: the next poll sees it
    }
    return false;
  }, graceMs, nap);
  // The status read before the signal goes along: its namespace pids are the process's for life.
  if (!exited) return finish('killed-after-grace', judged.status);
  return finish(gaveUp && alive() ? 'killed-after-signal' : 'exited', judged.status);
}

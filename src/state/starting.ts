// Launches cut off before they answered. A run SIGKILLed after it handed a launcher its request
// leaves that launcher going on alone: it clones the workload, which joins the service's
// cgroups a moment later and runs with no record naming it. Until it has joined, the service's
// cgroups hold nothing and adoption (observe.ts) cannot see it, so the next `up` would start a
// second copy. Every launch happens under the project's lock (`up`, `run`, the supervisor's
// restarts), so a launcher of the project that has not answered while this process holds that
// lock is one whose caller died. It is killed with whatever it cloned (half started, it is
// safer killed than adopted) and the plan starts the service anew. Such a launcher is found in
// the project's monitor group (it places itself there before it reads its request), by its
// first argument (names.ts launcherMark) and by its stdout, still the pipe of its dead caller
// (it points stdout at /dev/null right after answering).
import { readlinkSync } from 'node:fs';
import { readdir, readFile } from '../sys/fs-async.js';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupPath, launcherMark, MONITOR_CGROUP_DIR } from '../names.js';
import { readProcFile, readStartTime } from '../sys/proc.js';

const SIGSTOP = 19;

/**
 * Launchers this process spawned that have not answered yet (runtime/launch.ts adds and removes
 * them; a prepared one waits for its request): their caller is alive, so they are not cut off.
 */
export const launchersOfThisProcess = new Set<number>();

/** A process named by pid and start time. */
export interface ProcessId {
  readonly pid: number;
  readonly startTime: number;
}

/**
 * The project's monitor group in each hierarchy that holds one of `serviceDirs`
 * (`<root>/stack/<project>/<service>` → `<root>/stack.monitors/<project>`).
 */
export function monitorDirsOf(project: string, service: string, serviceDirs: readonly string[]): string[] {
  const suffix = `/${cgroupPath(project, service)}`;
  // The hierarchy's root as the service's dir has it, the group's names appended (observe asks this of every service).
  return serviceDirs.filter((d) => d.endsWith(suffix)).map((d) => `${d.slice(0, -suffix.length)}/${MONITOR_CGROUP_DIR}/${project}`);
}

/** Length of the NSpid line of /proc/PID/status (how deep its pid namespace is), 0 when gone. */
function nsDepth(pid: number | 'self'): number {
  const status = readProcFile(`/proc/${pid}/status`);
  return (/^NSpid:\s*(.*)$/m.exec(status ?? '')?.[1] ?? '').split(/\s+/).filter(Boolean).length;
}

function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** A launcher in a monitor group that has not answered yet, with the service mark it was run with. */
export interface UnansweredLauncher extends ProcessId {
  readonly mark: string;
}

/**
 * The launchers in the monitor groups `monitorDirs` that have not answered yet: the launcher
 * binary, in this pid namespace (not a workload it cloned, which is pid 1 of its own), its
 * stdout still a pipe. One look at the group serves every service of the project (observe.ts).
 */
export async function unansweredLaunchers(monitorDirs: readonly string[]): Promise<UnansweredLauncher[]> {
  // Synchronous reads: /proc and cgroupfs answer in microseconds, and a round trip through
  // libuv's threads per file (three per process of the group) was most of a no-op up's observe.
  const pids = new Set<number>();
  for (const dir of monitorDirs) {
    const text = readProcFile(join(dir, 'cgroup.procs')) ?? '';
    for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
  }
  const depth = nsDepth('self');
  const found: UnansweredLauncher[] = [];
  for (const pid of pids) {
    if (launchersOfThisProcess.has(pid)) continue;
    // Looked at first: nearly every process of the group is a monitor that answered.
    const stdout = linkOf(`/proc/${pid}/fd/1`);
    if (stdout === undefined || stdout === '/dev/null') continue; // answered (or gone)
    const exe = linkOf(`/proc/${pid}/exe`);
    if (exe === undefined || basename(exe) !== 'launcher') continue;
    const argv = (readProcFile(`/proc/${pid}/cmdline`) ?? '').split('\0');
    if (argv[1] === undefined || nsDepth(pid) !== depth) continue;
    const startTime = readStartTime(pid);
    if (startTime !== undefined) found.push({ pid, startTime, mark: argv[1] });
  }
  return found;
}

/** Those of `launchers` that were run for `service` (by its mark, names.ts launcherMark). */
export function launchersOfService(service: string, launchers: readonly UnansweredLauncher[]): ProcessId[] {
  const mark = launcherMark(service);
  return launchers.filter((l) => l.mark === mark).map(({ pid, startTime }) => ({ pid, startTime }));
}

/** The state letter of /proc/PID/stat (`T` stopped, `Z` zombie), undefined when gone. */
function stateOf(pid: number): string | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** The children of `pid` (every thread's), read from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const all: number[] = [];
  for (const tid of tasks) {
    const text = readProcFile(`/proc/${pid}/task/${tid}/children`) ?? '';
    for (const c of text.split(/\s+/)) if (/^\d+$/.test(c)) all.push(Number(c));
  }
  return all;
}

/**
 * Kills a launcher that has not answered and what it cloned: stopped first (SIGSTOP, through a
 * pidfd) so it clones nothing more, then its children (the workload, pid 1 of its namespace:
 * its death takes that namespace's processes with it), then itself; resolves once all are gone.
 * Returns the pids killed.
 */
export async function killStartingLaunch(launcher: ProcessId, stopWaitMs = 5000): Promise<number[]> {
  // Loaded here, not at the top: a reader that kills nothing (`stack ps`) does not load koffi.
  const { killProcessAndWait, PinnedProcess } = await import('../sys/pidfd.js');
  const pinned = PinnedProcess.open(launcher.pid, launcher.startTime);
  if (!pinned) return [];
  try {
    if (!pinned.signal(SIGSTOP)) return [];
    // A stopped process is back at user level: no clone is half done, its children are all listed.
    for (let waited = 0, ms = 1; waited < stopWaitMs; waited += ms, ms = Math.min(ms * 2, 50)) {
      const state = stateOf(launcher.pid);
      if (state === undefined || state === 'T' || state === 't' || state === 'Z' || pinned.exited()) break;
      await sleep(ms);
    }
    const killed: number[] = [];
    for (const child of await childrenOf(launcher.pid)) {
      const startTime = readStartTime(child);
      if (startTime !== undefined && (await killProcessAndWait(child, startTime))) killed.push(child);
    }
    pinned.signal(9);
    await pinned.waitExit(5000);
    return [...killed, launcher.pid];
  } finally {
    pinned.close();
  }
}

// The two steps of `down` that act on the project as a whole (src/planner/down.ts):
// stop-supervisor first, so nothing restarts or serves what the plan takes away, and
// remove-project last, which clears the run folder once no record is left.
import { readdir } from '../../sys/fs-async.js';
import { join } from 'node:path';
import { removeFirewall } from '../../network/firewall/index.js';
import type { RemoveProject } from '../../planner/plan.js';
import { removeMonitorGroup } from '../../runtime/control.js';
import { projectRunDir } from '../../state/paths.js';
import { networkRecords, serviceRecords } from '../../state/records.js';
import { removeFolderSync } from '../../state/atomic.js';
import type { RunContext } from '../context.js';
import { killProcess, supervisorProcesses } from '../supervisor-procs.js';

/**
 * Stops the project's supervisor, and one a crashed `up` was still starting (no pid file yet:
 * found by its command line, or the log it holds: supervisor-procs.ts). Done once the running
 * one was told to stop: from then on it restarts nothing (nor could it: a restart takes the
 * project lock, which this run holds) and the services may be stopped while it closes and
 * exits (~15 ms, traced, of every `down`). Its exit is left in ctx.supervisorExit, which
 * remove-project and the end of the run wait for.
 */
export async function stopSupervisor(ctx: RunContext): Promise<void> {
  const name = ctx.project.name;
  let asked!: () => void;
  const told = new Promise<void>((resolve) => (asked = resolve));
  const exit = (async () => {
    await ctx.env.supervisor.stop(name, asked);
    asked(); // told by now (the stops wait for it, and the wait below for the stops)
    // The look for a stray supervisor (every process's command line: ~2 ms of this thread) once
    // the teardown's stops are gone, not in the middle of a depends_on chain's stops. A stray one
    // restarts nothing meanwhile: a restart takes the project's lock, which this run holds.
    await ctx.stopsTogether?.allGone;
    const strays = supervisorProcesses().filter((s) => s.project === name && s.run === ctx.roots.run);
    for (const stray of strays) await killProcess(stray.pid, stray.startTime);
    if (strays.length) await ctx.env.supervisor.stop(name); // its files, written before it died
  })();
  ctx.supervisorExit.current = exit;
  exit.catch(() => undefined); // waited for (and its error reported) by remove-project and apply
  await Promise.race([told, exit]);
}

/**
 * Once no service or network record is left, the rest of the run folder goes too. The firewall
 * follows the network records (a rule never outlives its record), so it needs a sweep only when
 * the planner saw a network that no remove-network of the plan rewrote.
 */
export async function removeProject(ctx: RunContext, op: Pick<RemoveProject, 'sweepFirewall'>): Promise<void> {
  const name = ctx.project.name;
  await ctx.supervisorExit.current; // the supervisor stop-supervisor told to stop is gone: its files and cgroup go below
  const [services, networks] = await Promise.all([serviceRecords.list(ctx.roots, name), networkRecords.list(ctx.roots, name)]);
  if (services.records.length > 0 || networks.records.length > 0) return;
  if (op.sweepFirewall) await removeFirewall(name, ctx.env.firewallTarget);
  // Everything else of the run folder: allocation, snapshot, runtime files, and the temp files of
  // a record write that a crash cut short. The lock stays for its holder to remove.
  // Small runtime files only (volumes live under the lib root): removed synchronously, not one
  // trip through libuv's pool per call.
  const dir = projectRunDir(ctx.roots, name);
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry !== 'lock') removeFolderSync(join(dir, entry));
  }
  await removeMonitorGroup(name); // the monitors' and the supervisor's cgroup, empty once they are gone
}

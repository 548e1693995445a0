// stop-service and remove-service. Stop uses what the record says the process was started
// with (its stop_signal and grace period: the spec may have changed since, or be gone), then
// kills whatever is left in its cgroups. Remove takes away what a run leaves: the cgroups, the
// runtime files and, for a service that leaves the project, the record itself.
import { mark } from '../../trace.js';
import { lstatSync } from 'node:fs';
import { rm } from '../../sys/fs-async.js';
import type { RemoveService, StopService } from '../../planner/plan.js';
import { opId } from '../../planner/edges.js';
import { recordedStop, serviceRecords, updateServiceRecord } from '../../state/records.js';
import { AggregateStackError } from '../../errors.js';
import { removeFolderSync } from '../../state/atomic.js';
import { writeStopMarkSync } from '../../state/stop-mark.js';
import type { RunContext } from '../context.js';
import type { HandlerContext } from '../walk.js';
import { stopService as stopProcess } from '../../runtime/control.js';
import { serviceFiles } from '../../state/service-files.js';
import { serviceRootDir } from '../../state/paths.js';
import { hasHooks, runPreStop } from './hooks.js';
import { removalStepDone } from './leaving.js';
import { pauseMarked, unpauseGroup } from '../../runtime/control.js';

interface Pid {
  pid: number;
  startTime: number;
}

/**
 * Stops the service's process (signal, grace, kill of its cgroups) and clears it from the record.
 * Both writes stay even in a `down`, which deletes the record later: a run cut off after the
 * stop (Ctrl-C, a failed detach or removal) leaves the record, and the next supervisor of the
 * project would apply the restart policy to a process with no stop mark, publish the ports of a
 * service whose record names a process, and `restart` would count it as started.
 */
export async function stopService(ctx: RunContext, op: Pick<StopService, 'service' | 'id' | 'killAtOnce'>, walk?: Pick<HandlerContext, 'ready' | 'aside'>): Promise<void> {
  mark('stop: begin');
  const stop = ctx.stopsTogether?.join(op.id);
  try {
    // Its processes gone (runtime/stop.ts says when): what needs only that begins
    // (ready: the stops of the services it depends on, in a teardown the veths' deletion); one
    // of the stops together also waits, holding no slot, for the others.
    await stopAndRecord(
      ctx,
      op,
      () => {
        walk?.ready();
        if (stop === undefined) return;
        const others = stop.gone();
        return walk === undefined ? others : walk.aside(others);
      },
      () => stop?.awaitsExit(),
    );
  } finally {
    stop?.leave();
  }
}

/**
 * The stop itself: `gone` is called once its processes are gone, and its last steps wait for what
 * it returns. From its record's read to its signal it awaits nothing (unless the service has
 * pre_stop hooks, or one look cannot judge its process: runtime/stop.ts settled() and
 * mayActOn()): the stops of a `down` begin together, and at each await of one (most of them on
 * promises resolved already) every other one did its own step first, so no signal went out
 * before every stop had read its record and written its mark (a `down` of 20 that exit on
 * SIGTERM: the first signal ~15 ms after the stops began, traced). The marks `stop: marked` and
 * `stop: signalled` (STACK_TRACE) show it.
 */
async function stopAndRecord(ctx: RunContext, op: Pick<StopService, 'service' | 'killAtOnce'>, gone: () => void | Promise<void>, awaitsExit: () => void): Promise<void> {
  const project = ctx.project.name;
  const cgroups = await ctx.cgroups(); // its one await, before any of its work
  const record = serviceRecords.readNow(ctx.roots, project, op.service);
  const group = cgroups.open(project, op.service);
  const settings = recordedStop(record);
  const files = serviceFiles(ctx.roots, project, op.service);
  const monitor = record?.monitor as Pid | undefined;
  if (record?.process) {
    const { pid, startTime } = record.process;
    // Paused (`stack pause`): a frozen process runs no hook and acts on no signal (nor dies of
    // SIGKILL, on cgroup v1) until thawed: a stop thaws it first, its stop mark written before (a
    // signal it was sent while paused may end it as it thaws). One failed stat for the others.
    if (pauseMarked(ctx.roots, project, op.service)) {
      writeStopMarkSync(files.stopped, { pid, startTime });
      await unpauseGroup(ctx.roots, project, op.service, group, record.cgroups);
    }
    // Its spec as the run has it; a service the run's project lacks (all of them in a `down`) as
    // it was started, when its record says it has pre_stop hooks (compose's down runs them).
    const startedAs = settings.preStop ? ctx.startedAs : undefined;
    const spec = ctx.project.services[op.service] ?? (startedAs && (await startedAs(op.service)));
    if (startedAs && !spec) ctx.notice(`service ${op.service}: its pre_stop hooks were not run: the project's snapshot (its run folder's project.json) does not have it`);
    if (hasHooks(spec, 'pre_stop')) await runPreStop(ctx, spec);
    // The mark tells the supervisor this exit is wanted: no restart policy applies to it.
    // Written before the signal, always: a `down` cut off while a service takes its grace period
    // must leave the mark for a later supervisor. (Written beside the signal through libuv's pool
    // in a `down`, whose supervisor is stopped first, a `down` of a chain of 20 took ~4 ms less;
    // but a kill -9 of it right after a service had taken its SIGTERM, under a CI run's load,
    // came before the write had ended and left the service signalled without its mark.)
    writeStopMarkSync(files.stopped, { pid, startTime });
    mark('stop: marked');
    await stopProcess(
      {
        service: op.service,
        pid,
        startTime,
        exitPath: files.exit,
        ...(monitor && { monitorPid: monitor.pid, monitorStartTime: monitor.startTime }),
        cgroup: group,
      },
      // killAtOnce: seen unable to act on its signal when the plan was made (planner/down.ts), and its networks go meanwhile.
      { signal: op.killAtOnce === true ? 'SIGKILL' : settings.signal, graceMs: ctx.env.stopTimeoutMs ?? settings.graceMs, gone, awaitsExit },
    );
    mark('stop: stopped');
  } else {
    // Paused, its process gone meanwhile (cgroup v2 lets a fatal signal end a frozen one): thawed,
    // or the group would freeze what starts in it next.
    if (pauseMarked(ctx.roots, project, op.service)) await unpauseGroup(ctx.roots, project, op.service, group, record?.cgroups ?? group.dirs);
    await group.killAll();
    await gone();
  }
  await updateServiceRecord(ctx.roots, project, op.service, ctx.bootId, (r) => ({ ...r, process: null }));
  mark('stop: recorded');
}

/** The remove-service steps of a run whose group removal has not ended yet. */
const runRemovals = new WeakMap<RunContext, { left: number }>();

function groupRemovals(ctx: RunContext): { left: number } {
  let removals = runRemovals.get(ctx);
  if (removals === undefined) {
    const left = [...ctx.planned].filter((id) => id.startsWith(opId('remove-service', ''))).length;
    runRemovals.set(ctx, (removals = { left: Math.max(left, 1) }));
  }
  return removals;
}

/** Removes the service's cgroups and runtime files; a service leaving the project loses its record too. */
export async function removeService(ctx: RunContext, op: Pick<RemoveService, 'service'>): Promise<void> {
  const project = ctx.project.name;
  const leaving = ctx.project.services[op.service] === undefined;
  const group = (await ctx.cgroups()).open(project, op.service);
  const removals = groupRemovals(ctx);
  let failure: { error: unknown } | undefined;
  try {
    await group.destroy({ keepProject: true });
  } catch (error) {
    failure = { error };
  }
  // The last of the run's removals, failed or not, tries the project's dir (in each hierarchy):
  // while any other group is there, the kernel refuses it (strace of a `down` of 20: 395 rmdirs
  // when each removal tried it, 258 since). Its own failure is said only when the group's is not.
  if (--removals.left <= 0) {
    try {
      await group.removeProjectDir();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  // The runtime files (name files, exit record, the log and its rotations) removed synchronously:
  // through libuv's pool (an async rm walks a tree one call per trip) the 20 removals of a
  // `down` took ~13 ms. Unlinking a log is one metadata change, whatever its size.
  removeFolderSync(serviceFiles(ctx.roots, project, op.service).dir);
  // An image service's writable root goes with the service (a recreate starts from the image
  // again). It may be large: walked off this thread, when there is one.
  const root = serviceRootDir(ctx.roots, project, op.service);
  if (lstatSync(root, { throwIfNoEntry: false }) !== undefined) await rm(root, { recursive: true, force: true });
  if (!leaving) {
    // `up -V`: the recreated service starts with new anonymous volumes (its start may come in a
    // later run: `up --no-start -V`, or one that a cut-off left to finish).
    if (ctx.renewAnonVolumes === true) await (await import('./volume.js')).renewAnonymous(ctx, op.service);
    await updateServiceRecord(ctx.roots, project, op.service, ctx.bootId, (r) => ({ ...r, config: null, cgroups: [], process: null }));
    return;
  }
  // What the record still claims although the kernel showed it gone (a netns file left half-made
  // by a crash, a veth): removed by name, best effort; the record goes with the last step of the
  // service's removal (leaving.ts). What a step of this plan removes is left to it: that step
  // does not clear it from the record (recordGoes).
  const record = await serviceRecords.read(ctx.roots, project, op.service);
  const errors: Error[] = [];
  const attempt = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  };
  for (const [network, veth] of Object.entries(record?.veths ?? {})) {
    if (!ctx.planned.has(opId('detach-veth', `${op.service}/${network}`))) attempt(() => ctx.network().detachVeth(project, op.service, network, veth.host));
  }
  const netns = record?.netns;
  if (netns && !ctx.planned.has(opId('remove-netns', op.service))) attempt(() => ctx.network().removeNetns(project, op.service, netns));
  if (errors.length) throw new AggregateStackError(`service ${op.service}: removing what its record claims`, errors);
  await removalStepDone(ctx, op.service, opId('remove-service', op.service));
}

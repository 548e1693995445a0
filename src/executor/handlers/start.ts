// start-service: records the service, writes its name files (on libuv's threads: names.ts),
// creates its cgroups, readies its volumes and launches it in its netns, in its own root
// (view.ts: the host read-only, its /etc name files and volumes bound in), once the services it
// depends on are started and its depends_on conditions hold: waited for just before the launch,
// or before anything (waitsBeforePreparing).
// The record gets the stamp, the cgroups and the stop settings before the launch (a crash leaves
// nothing `down` cannot find: the cgroups hold whatever was started) and the pids right after it.
import { existsSync } from 'node:fs';
import { mark } from '../../trace.js';
import { prepareStopMark } from '../../state/stop-mark.js';
import { rm } from '../../sys/fs-async.js';
import type { StartService } from '../../planner/plan.js';
import type { Service } from '../../spec/project.js';
import { serviceNamespaces } from '../../network/service-namespaces.js';
import { serviceRecords, updateServiceRecord, type ServiceRecord } from '../../state/records.js';
import type { HandlerContext } from '../walk.js';
import type { RunContext } from '../context.js';
import { checkTargets, hidesCache, loadUserDb, monitorEntry, prepareLauncher, startServiceProcess, type HidesCache, type UserDb } from '../../runtime/index.js';

// The launchers a run prepares before its starts (apply.ts, the watch's restart), from this side.
export { discardPreparedLauncher, prepareLauncher } from '../../runtime/index.js';
import { serviceFiles } from '../../state/service-files.js';
import { serviceRootDir } from '../../state/paths.js';
import { awaitDependencies } from './dependencies.js';
import { writeNameFiles } from './names.js';
import { undoing } from './undo.js';
import { hasHooks, runPostStart } from './hooks.js';
import { firewallWritten } from './firewall.js';

/**
 * An image service's copy-up into its new volumes: the image's content at the volume's target
 * (its owner and mode too), as Docker fills a new volume; a notice says what was copied.
 */
function imageCopyUp(ctx: RunContext, spec: Service): (target: string, folder: string) => Promise<void> {
  return async (target, folder) => {
    const [{ copyImageContent }, { imageLayerDirs }] = await Promise.all([import('../../image/copy-up.js'), import('../../image/paths.js')]);
    const copied = await copyImageContent(imageLayerDirs(ctx.roots, spec.imageRoot!), target, folder, spec.image!);
    if (copied !== false && copied.skipped.length > 0) {
      ctx.notice(`service ${spec.name}: copying image content into the volume at ${target} skipped ${copied.skipped.length} entr${copied.skipped.length === 1 ? 'y' : 'ies'} (${copied.skipped.slice(0, 3).join('; ')})`);
    }
  };
}

/**
 * Whether a start waits for the services it depends on before it makes anything, not just
 * before its launch: when what it makes depends on them having run (an image's copy-up fills a
 * new volume with the content of the first service that mounts it; `pid:`/`ipc:` of a service
 * join that service's running process; a dependency to be healthy or done may first make the
 * files it binds, as an init job does, and its wait is the longer one anyway), and when an
 * earlier run of it left what a start given up undoes (its logs, an image's writable layer).
 */
function waitsBeforePreparing(spec: Service, before: ServiceRecord | undefined, runtimeDir: string): boolean {
  if (spec.imageRoot !== undefined && spec.volumes.some((m) => m.type === 'volume')) return true;
  if (spec.pidMode?.kind === 'service' || spec.ipcMode?.kind === 'service') return true;
  if (Object.values(spec.dependsOn).some((d) => d.condition !== 'service_started')) return true;
  return (before !== undefined && before.config !== null) || existsSync(runtimeDir);
}

/**
 * What the services one run (an `up`, a restart) starts share, looked up on the host once per
 * run: the host's users and groups, and the hidden paths (hidden.ts; ~5 ms of lstat each).
 */
const perRun = new WeakMap<RunContext, { readonly hides: HidesCache; userDb?: UserDb }>();

function runShared(ctx: RunContext): { readonly hides: HidesCache; readonly userDb: UserDb } {
  let shared = perRun.get(ctx);
  if (shared === undefined) perRun.set(ctx, (shared = { hides: hidesCache() }));
  const userDb = ctx.env.userDb ?? (shared.userDb ??= loadUserDb());
  return { hides: shared.hides, userDb };
}

/**
 * Starts the service; on failure its cgroups (and whatever runs in them) and files are removed.
 * The services it depends on are late dependencies of its start (apply.ts, walk.ts): it begins
 * once they launch (`ready`, called here as it launches itself), makes what comes before its
 * own launch (its record, name files, cgroups, view) meanwhile, and waits for them (`after`) and
 * their depends_on conditions only then, unless waitsBeforePreparing. In a depends_on chain each
 * service's ~3 ms of this thread's preparation came after the launch before it, in a row.
 */
export async function startService(ctx: RunContext, op: StartService, { signal, after, ready }: HandlerContext): Promise<void> {
  const project = ctx.project.name;
  const spec = ctx.project.services[op.service];
  if (!spec) throw new Error(`service ${op.service} is not in the project`);
  // Targets the view would refuse are refused before anything is made for the service.
  checkTargets(spec, spec.volumes.map((m) => ({ type: 'tmpfs', target: m.target, readOnly: m.readOnly })));
  mark('start: begin');
  // Its launcher spawned and placed while its dependencies start (apply.ts prepared the first
  // ones already; apply ends it if no launch takes it).
  prepareLauncher(project, op.service);
  const dependencies = async (): Promise<void> => {
    await after();
    await awaitDependencies(ctx, spec, signal);
    mark('start: dependencies');
  };
  const files = serviceFiles(ctx.roots, project, op.service);
  const before = await serviceRecords.read(ctx.roots, project, op.service);
  const waitsFirst = waitsBeforePreparing(spec, before, files.dir);
  if (waitsFirst) await dependencies();
  // Otherwise its dependencies are waited for just before its launch. Preparing while the
  // service before it launches, it gives the event loop a turn between its steps: that launch's
  // answer is then taken at once, not after the whole preparation.
  const waitsAtLaunch = !waitsFirst && Object.keys(spec.dependsOn).length > 0;
  const turn = async (): Promise<void> => {
    if (waitsAtLaunch) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  await turn();
  const group = (await ctx.cgroups()).open(project, op.service);
  // A process that died leaves its cgroups to be reused: whatever it left running in them goes first.
  const replacing = before?.process != null;
  // The netns the record names (made by create-netns, perhaps by an earlier version's names), or
  // the host's or its owner's (network_mode), and the pid/IPC namespaces it shares (pid, ipc).
  const namespaces = await serviceNamespaces(ctx.roots, ctx.project, spec);
  await updateServiceRecord(ctx.roots, project, op.service, ctx.bootId, (r) => ({
    ...r,
    config: op.stamp,
    dependsOn: Object.keys(spec.dependsOn).sort(),
    cgroups: [...group.dirs],
    process: null,
    runtime: files.dir,
    stop: { signal: spec.stopSignal, graceMs: spec.stopGracePeriodMs, ...(hasHooks(spec, 'pre_stop') && { preStop: true }) },
  }));
  ctx.reached(`${op.id}:recorded`);
  mark('start: recorded');
  // Its name files, made on libuv's threads while it gives the event loop its turn (other
  // starts' steps go on meanwhile), are there before anything else of it is made: a failed
  // write leaves no volume or bind source made for nothing.
  const names = writeNameFiles(ctx, op.service);
  names.catch(() => undefined); // awaited below, and by the undo before it removes the folder
  // The empty file its stop will write its mark into (state/stop-mark.ts), made on libuv's
  // threads while it launches: a stop then writes no new file.
  let markFile: Promise<void> | undefined;
  await undoing(
    async () => {
      await turn();
      await names;
      markFile = prepareStopMark(files.stopped); // never rejects
      mark('start: name files');
      const launched = await startServiceProcess({
        roots: ctx.roots,
        project: ctx.project,
        service: spec,
        ...namespaces,
        cgroups: await ctx.cgroups(),
        mode: 'make',
        empty: replacing,
        invoker: ctx.env.invoker,
        ...runShared(ctx),
        ...(spec.imageRoot !== undefined && { copyUp: imageCopyUp(ctx, spec) }),
        // No workload runs before the firewall of a network made in this run is written, nor
        // before the services it depends on are started (and healthy, or done, as asked).
        beforeLaunch: async () => {
          await firewallWritten(ctx);
          if (waitsAtLaunch) await dependencies();
          ready(); // the starts that depend on this one prepare now, while it launches
        },
      });
      mark('start: launched');
      ctx.reached(`${op.id}:launched`); // running, its pid not recorded yet: observe adopts it from its cgroup
      await updateServiceRecord(ctx.roots, project, op.service, ctx.bootId, (r) => ({
        ...r,
        process: { pid: launched.pid, startTime: launched.startTime },
        monitor: monitorEntry(launched),
      }));
      await markFile;
    },
    async () => {
      await names.catch(() => undefined); // no write of it is left to make the folder again
      await markFile;
      await group.destroy();
      await rm(files.dir, { recursive: true, force: true });
      await rm(serviceRootDir(ctx.roots, project, op.service), { recursive: true, force: true });
      await updateServiceRecord(ctx.roots, project, op.service, ctx.bootId, (r) => ({ ...r, config: null, cgroups: [], process: null }));
    },
  );
  await runPostStart(ctx, spec, signal);
}

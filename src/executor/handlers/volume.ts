// create-volume, unmount-volume and remove-volume: a named volume is a folder under the state
// root's lib dir (docs/architecture.md "Names and places"), recorded before it is made. A new one
// belongs to the `user` of the service that mounts it, the way an image's folder ownership
// carries into a docker volume (postgres can then init its data dir). One with driver_opts has
// its tmpfs or host folder mounted on that folder (runtime/volume-mount.ts) by create-volume,
// also planned for a volume whose mount is not there (after a `down`, a reboot), and taken off
// by unmount-volume (`down`). Removal (`down -v`) unmounts, then deletes folder and record: never
// through a mount that stays.
import { rm } from '../../sys/fs-async.js';
import { mountOwnership, mountsAt, mountsBelow, topMountAt } from '../../sys/mountinfo.js';
import { basename, dirname, join, relative } from 'node:path';
import type { CreateVolume, Plan, RemoveVolume, UnmountVolume } from '../../planner/plan.js';
import type { Project } from '../../spec/project.js';
import { volumeDataDir } from '../../state/paths.js';
import { volumeRecords, type VolumeRecord } from '../../state/records.js';
import type { RunContext } from '../context.js';
// The unmount through the runtime's second API (runtime/control.ts): a `down` that takes a
// volume's mount off or removes it (-v) loads nothing of the launch side. What makes a volume and
// empties an anonymous one is the runtime's index, loaded by the first of them (`runtime()`).
import { unmountVolume as unmountVolumeMounts } from '../../runtime/control.js';
import { existsSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import { UserError } from '../../errors.js';
import { opId } from '../../planner/edges.js';
import { undoing } from './undo.js';

type Runtime = typeof import('../../runtime/index.js');
const runtime = (): Promise<Runtime> => import('../../runtime/index.js');

/**
 * `up -V`: the anonymous volumes of the services `plan` makes that are not there yet, emptied
 * before anything of them is made (a `down` without -v left their folders, which their names
 * would otherwise take over); recreated ones are renewed by their remove-service (stop.ts).
 */
export async function renewNewServicesVolumes(ctx: RunContext, plan: Plan): Promise<void> {
  const made = new Set(plan.operations.flatMap((op) => ('service' in op && ctx.live.services[op.service] === undefined ? [op.service] : [])));
  for (const name of made) await renewAnonymous(ctx, name);
}

/**
 * `up -V`: empties the anonymous volumes of `service` (runtime/mounts.ts), unless a service that
 * runs and that this run does not recreate mounts them (`volumes_from`, directly or through
 * another's): their folders would go from under it, as compose's -V leaves such a container on
 * the volume it has. The run then says so.
 */
export async function renewAnonymous(ctx: RunContext, service: string): Promise<void> {
  const spec = ctx.project.services[service];
  if (spec === undefined) return;
  const { renewAnonymousVolumes, volumesFromMounts } = await runtime();
  const user = runningVolumesUser(ctx, service, volumesFromMounts);
  if (user !== undefined) {
    ctx.notice(`service ${service}: its anonymous volumes are kept (-V): ${user}, which runs on, mounts them (volumes_from)`);
    return;
  }
  await renewAnonymousVolumes(ctx.roots, ctx.project, spec);
}

/** A service that runs, is not recreated by this run, and mounts `owner`'s volumes through volumes_from (transitively). */
function runningVolumesUser(ctx: RunContext, owner: string, volumesFromMounts: Runtime['volumesFromMounts']): string | undefined {
  return Object.values(ctx.project.services).find(
    (user) =>
      user.name !== owner &&
      ctx.live.services[user.name]?.process?.alive === true &&
      !ctx.planned.has(opId('remove-service', user.name)) &&
      volumesFromMounts(ctx.project, user).some(([from]) => from.name === owner),
  )?.name;
}

/** Services of the project that mount the named volume `key`. */
function mountersOf(project: Project, key: string): string[] {
  return Object.values(project.services)
    .filter((s) => s.volumes.some((m) => m.type === 'volume' && m.source === key))
    .map((s) => s.name);
}

/** Records the named volume, then makes its folder and mounts what its driver_opts say there. */
export async function createVolume(ctx: RunContext, op: CreateVolume): Promise<void> {
  const spec = ctx.project.volumes[op.volume];
  if (!spec) throw new Error(`volume ${op.volume} is not in the project`);
  const { bindBeneath, makeVolumeFolder, mountVolume, volumeOwner } = await runtime();
  const path = volumeDataDir(ctx.roots, spec.name);
  const before = await volumeRecords.read(ctx.roots, ctx.project.name, op.volume);
  if (spec.mount !== undefined) refuseMounting(spec.name, path);
  const mount = spec.mount && { kind: spec.mount.kind, device: spec.mount.device, options: [...spec.mount.options] };
  const record: VolumeRecord = { version: 1, kind: 'volume', project: ctx.project.name, key: op.volume, name: spec.name, path, ...(mount && { mount }) };
  await volumeRecords.write(ctx.roots, record);
  ctx.reached(`${op.id}:recorded`);
  const owner = volumeOwner(ctx.project, mountersOf(ctx.project, op.volume), ctx.env.userDb);
  let made = false;
  let mounted = false;
  await undoing(
    async () => {
      made = !existsSync(path);
      await makeVolumeFolder(path, owner);
      if (spec.mount === undefined) return;
      const beneath = spec.mount.kind === 'bind' ? deviceBeneath(ctx, spec.mount.device, bindBeneath) : undefined;
      mountVolume(spec.name, path, spec.mount, beneath, owner);
      mounted = true;
      // The mount is named by its id: only that one is this project's (observe, unmount-volume).
      const id = topMountAt(path)?.id;
      if (id !== undefined) await volumeRecords.write(ctx.roots, { ...record, mount: { ...mount!, id } });
    },
    // What it made goes (the mount, a new folder: empty once unmounted); the record is as before.
    async () => {
      if (mounted) unmountVolumeMounts(spec.name, path);
      if (made) rmdirSync(path);
      if (before !== undefined) await volumeRecords.write(ctx.roots, before);
      else await volumeRecords.remove(ctx.roots, ctx.project.name, op.volume);
    },
  );
}

/**
 * What no mount of a volume's driver_opts may do: go on a mount already there (another
 * project's volume of the same name, or one made by hand: this project's record says its own is
 * not there), or hide the files of a volume that was a plain folder until now.
 */
function refuseMounting(name: string, path: string): void {
  if (mountsAt(path) > 0) {
    throw new UserError('VOLUME_MOUNTED', `volume ${name}: ${path} has a mount this project did not make (another project's volume of the same name?)`, 'give the volumes different names, or declare it `external: true` in all but one project');
  }
  // The folder under a mount of ours is empty once it is unmounted: files there were written
  // while it was a plain folder (this project's, or another's volume of the same name).
  if (existsSync(path) && readdirSync(path).length > 0) {
    throw new UserError(
      'VOLUME_NOT_EMPTY',
      `volume ${name}: its driver_opts would mount over the files it holds as a plain folder (${path})`,
      'move the files out (or remove the volume: `stack down -v`), then `up` mounts it',
    );
  }
}

/**
 * Takes the volume's driver_opts mount off its folder (`down` without -v): the volume and its
 * record stay. Only the mount this project made (its record names it): one another project made
 * there since is left to it.
 */
export async function unmountVolume(ctx: RunContext, op: Pick<UnmountVolume, 'volume'>): Promise<void> {
  const recorded = await volumeRecords.read(ctx.roots, ctx.project.name, op.volume);
  if (recorded === undefined) return;
  if (mountOwnership(recorded.path, recorded.mount === undefined ? null : recorded.mount.id) === 'foreign') {
    ctx.notice(`volume ${op.volume}: the mount on ${recorded.path} is not the one this project made; it is left as it is`);
    return;
  }
  unmountVolumeMounts(op.volume, recorded.path); // none is fine; throws (the folder kept) when one stays
}

/**
 * The folder below which a bind volume's device must not cross a symlink: the project folder or
 * a folder a service binds writable (runtime/mounts.ts bindBeneath), or the volumes' own folder,
 * where services write.
 */
function deviceBeneath(ctx: RunContext, device: string, bindBeneath: Runtime['bindBeneath']): string | undefined {
  const volumes = dirname(volumeDataDir(ctx.roots, 'x'));
  const r = relative(volumes, device);
  if (r !== '' && !r.startsWith('..')) return volumes;
  return bindBeneath(ctx.project, device);
}

/** Deletes the volume's folder (only ever one under the state root's volumes dir), then its record. */
export async function removeVolume(ctx: RunContext, op: Pick<RemoveVolume, 'volume'>): Promise<void> {
  const recorded = ctx.live.volumes[op.volume] ?? (await volumeRecords.read(ctx.roots, ctx.project.name, op.volume));
  if (recorded) {
    const base = volumeDataDir(ctx.roots, 'x').slice(0, -2);
    const inside = relative(base, recorded.path);
    if (inside === '' || inside.startsWith('..') || inside.includes('/'))
      throw new Error(`volume ${op.volume}: recorded folder ${recorded.path} is not under ${base}, not deleting it`);
    // Whatever its record says: a mount on the folder (driver_opts, or one made by hand) comes
    // off first. Then the folder is renamed aside, which the kernel refuses (EBUSY) for a mount
    // point: a mount made meanwhile (another project's `up` of a volume of the same name) stays
    // on the name, never under the walk; and nothing may be mounted below the folder either. A
    // mount that stays keeps the folder: the walk would go into a bound host folder.
    const record = await volumeRecords.read(ctx.roots, ctx.project.name, op.volume);
    if (mountOwnership(recorded.path, record?.mount === undefined ? null : record.mount.id) === 'foreign') {
      throw new UserError('VOLUME_MOUNTED', `volume ${op.volume}: ${recorded.path} has a mount this project did not make (another project's volume of the same name?); it is kept`, 'take that mount off (the other project\'s `stack down`), then run `stack down -v` again');
    }
    unmountVolumeMounts(op.volume, recorded.path); // none is fine; throws (the folder kept) when one stays
    await finishRemovals(recorded.path);
    const aside = join(dirname(recorded.path), `.removing-${basename(recorded.path)}-${process.pid}`);
    try {
      renameSync(recorded.path, aside);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EBUSY') throw new UserError('VOLUME_MOUNTED', `volume ${op.volume}: ${recorded.path} was mounted on again while it was being removed; it is kept`, 'run `stack down -v` again once nothing mounts it');
      if (code !== 'ENOENT') throw e;
    }
    if (existsSync(aside)) {
      const below = mountsBelow(aside);
      if (below.length > 0) {
        renameSync(aside, recorded.path);
        throw new UserError('VOLUME_MOUNTED', `volume ${op.volume}: something is mounted inside it (${below.join(', ')}); it is kept`, 'unmount it, then run `stack down -v` again');
      }
      await rm(aside, { recursive: true, force: true });
    }
  }
  await volumeRecords.remove(ctx.roots, ctx.project.name, op.volume);
}


/**
 * Finishes the removals of a volume's folder that an earlier run renamed aside and did not end
 * (cut off, or its walk failed): each `.removing-NAME-PID` beside it that nothing is mounted on
 * or in is walked away; the record of the volume stays until then.
 */
async function finishRemovals(path: string): Promise<void> {
  const prefix = `.removing-${basename(path)}-`;
  let entries: string[];
  try {
    entries = readdirSync(dirname(path));
  } catch {
    return; // no volumes folder: nothing was left
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !/^\d+$/.test(entry.slice(prefix.length))) continue;
    const aside = join(dirname(path), entry);
    if (mountsAt(aside) > 0 || mountsBelow(aside).length > 0) continue;
    await rm(aside, { recursive: true, force: true });
  }
}

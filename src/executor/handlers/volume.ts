// create-volume and remove-volume: a named volume is a folder under the state root's lib dir
// (docs/architecture.md "Names and places"), recorded before it is made. A new one belongs to the `user`
// of the service that mounts it, the way an image's folder ownership carries into a docker
// volume (postgres can then init its data dir). Removal (`down -v`) deletes folder and record.
import { rm } from '../../sys/fs-async.js';
import { relative } from 'node:path';
import type { CreateVolume, Plan, RemoveVolume } from '../../planner/plan.js';
import type { Project } from '../../spec/project.js';
import { volumeDataDir } from '../../state/paths.js';
import { volumeRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';
import { makeVolumeFolder, renewAnonymousVolumes, volumeOwner, volumesFromMounts } from '../../runtime/index.js';
import { opId } from '../../planner/edges.js';
import { undoing } from './undo.js';

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
  const user = runningVolumesUser(ctx, service);
  if (user !== undefined) {
    ctx.notice(`service ${service}: its anonymous volumes are kept (-V): ${user}, which runs on, mounts them (volumes_from)`);
    return;
  }
  await renewAnonymousVolumes(ctx.roots, ctx.project, spec);
}

/** A service that runs, is not recreated by this run, and mounts `owner`'s volumes through volumes_from (transitively). */
function runningVolumesUser(ctx: RunContext, owner: string): string | undefined {
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

/** Records the named volume, then makes its folder. */
export async function createVolume(ctx: RunContext, op: CreateVolume): Promise<void> {
  const spec = ctx.project.volumes[op.volume];
  if (!spec) throw new Error(`volume ${op.volume} is not in the project`);
  const path = volumeDataDir(ctx.roots, spec.name);
  await volumeRecords.write(ctx.roots, { version: 1, kind: 'volume', project: ctx.project.name, key: op.volume, name: spec.name, path });
  ctx.reached(`${op.id}:recorded`);
  await undoing(
    () => makeVolumeFolder(path, volumeOwner(ctx.project, mountersOf(ctx.project, op.volume), ctx.env.userDb)),
    () => volumeRecords.remove(ctx.roots, ctx.project.name, op.volume),
  );
}

/** Deletes the volume's folder (only ever one under the state root's volumes dir), then its record. */
export async function removeVolume(ctx: RunContext, op: Pick<RemoveVolume, 'volume'>): Promise<void> {
  const recorded = ctx.live.volumes[op.volume] ?? (await volumeRecords.read(ctx.roots, ctx.project.name, op.volume));
  if (recorded) {
    const base = volumeDataDir(ctx.roots, 'x').slice(0, -2);
    const inside = relative(base, recorded.path);
    if (inside === '' || inside.startsWith('..') || inside.includes('/'))
      throw new Error(`volume ${op.volume}: recorded folder ${recorded.path} is not under ${base}, not deleting it`);
    await rm(recorded.path, { recursive: true, force: true });
  }
  await volumeRecords.remove(ctx.roots, ctx.project.name, op.volume);
}

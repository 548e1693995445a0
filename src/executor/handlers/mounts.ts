// What a service's volumes are on the host, made ready before launch: a bind's missing source
// folder is created as compose does (owned by the invoking user under sudo when it lies in the
// project folder), a named volume is its folder, an anonymous volume gets a folder of its own
// (recorded per service, so `down -v` removes it), tmpfs passes through. Targets are checked
// and created inside the service's view by the launcher, never here on the host.
import { createHash } from 'node:crypto';
import { chown, mkdir, stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { UserError } from '../../errors.js';
import type { Mount, Service } from '../../spec/project.js';
import { volumeDataDir } from '../../state/paths.js';
import { volumeRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';
import type { ViewMount } from '../../runtime/view.js';
import { makeVolumeFolder, volumeOwner } from './volume.js';

/** A volume as the launcher mounts it (view.ts). */
export type ResolvedMount = ViewMount;

/** Record key of the anonymous volume of `service` at `target`. */
export function anonymousVolumeKey(service: string, target: string): string {
  return `anon+${service}+${createHash('sha256').update(target).digest('hex').slice(0, 12)}`;
}

/** The volume name (its folder under the state root) of the anonymous volume of `service` at `target`. */
export function anonymousVolumeName(project: string, service: string, target: string): string {
  return `${project}_${anonymousVolumeKey(service, target).replaceAll('+', '_')}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** mkdir -p that hands every folder it creates inside `projectDir` to `invoker`. */
async function makeBindSource(path: string, projectDir: string, invoker: RunContext['env']['invoker']): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode: 0o755 });
  if (first === undefined || invoker === undefined) return;
  const inProject = (p: string): boolean => {
    const r = relative(projectDir, p);
    return r !== '' && !r.startsWith('..') && !r.startsWith(sep);
  };
  for (let p = path; p.length >= first.length; p = dirname(p)) {
    if (inProject(p)) await chown(p, invoker.uid, invoker.gid);
    if (p === first) break;
  }
}

async function resolveMount(ctx: RunContext, service: Service, mount: Mount): Promise<ResolvedMount> {
  const base = { target: mount.target, readOnly: mount.readOnly };
  if (mount.type === 'tmpfs') {
    return { type: 'tmpfs', ...base, ...(mount.sizeBytes !== undefined && { sizeBytes: mount.sizeBytes }), ...(mount.mode !== undefined && { mode: mount.mode }) };
  }
  if (mount.type === 'bind') {
    if (!(await exists(mount.source))) {
      if (!mount.createHostPath) {
        throw new UserError(
          'BIND_SOURCE_MISSING',
          `service "${service.name}": bind source ${mount.source} (for ${mount.target}) does not exist`,
          'create it, or use the short syntax (`./dir:/target`), which creates a missing folder',
        );
      }
      await makeBindSource(mount.source, ctx.project.workingDir, ctx.env.invoker);
    }
    return { type: 'bind', source: mount.source, ...base };
  }
  if (mount.source !== undefined) {
    const volume = ctx.project.volumes[mount.source];
    if (!volume) throw new Error(`service ${service.name}: volume ${mount.source} is not in the project`);
    const path = volumeDataDir(ctx.roots, volume.name);
    if (!(await exists(path))) {
      if (volume.external) {
        throw new UserError(
          'VOLUME_MISSING',
          `service "${service.name}": external volume ${volume.name} does not exist (no folder ${path})`,
          'create it first (it is external: stack never creates it), or drop `external: true`',
        );
      }
      throw new Error(`service ${service.name}: volume folder ${path} is missing (a bug: create-volume runs first)`);
    }
    return { type: 'bind', source: path, ...base };
  }
  const key = anonymousVolumeKey(service.name, mount.target);
  const name = anonymousVolumeName(ctx.project.name, service.name, mount.target);
  const path = volumeDataDir(ctx.roots, name);
  await volumeRecords.write(ctx.roots, { version: 1, kind: 'volume', project: ctx.project.name, key, name, path, owner: service.name });
  await makeVolumeFolder(path, volumeOwner(ctx, [service.name]));
  return { type: 'bind', source: path, ...base };
}

/** Every volume of `service`, ready to mount, in spec order. */
export async function prepareMounts(ctx: RunContext, service: Service): Promise<ResolvedMount[]> {
  const out: ResolvedMount[] = [];
  for (const mount of service.volumes) out.push(await resolveMount(ctx, service, mount));
  return out;
}

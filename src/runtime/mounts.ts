// What a service's volumes are on the host, made ready before launch — the one place that
// prepares them, for the executor's start-service and the supervisor's restarts alike. A first
// start (`make`) creates what is missing: a bind's missing source folder as compose does (owned
// by the invoking user under sudo when it lies in the project folder), an anonymous volume's
// folder of its own (recorded per service, so `down -v` removes it); a named volume is its
// folder (create-volume made it). A restart (`find`) makes nothing: it finds the same folders
// the first start made. tmpfs passes through. Targets are checked and created inside the
// service's view by the launcher, never here on the host. A bind source's path may not cross
// a symlink inside the project folder or a folder bound writable (bindBeneath): it is walked,
// and its missing folders made and chowned, through held folder fds (walkBindSource), and the
// launcher opens it the same way (openat2 RESOLVE_NO_SYMLINKS below that folder).
import { closeSync, constants as fsConstants, fchownSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { chown, mkdir, readdir, rm, stat } from '../sys/fs-async.js';
import { dirname, join, relative, sep } from 'node:path';
import { sha256Hex } from '../sys/lazy-crypto.js';
import { UserError } from '../errors.js';
import type { Mount, Project, Service } from '../spec/project.js';
import { volumeDataDir, type StateRoots } from '../state/paths.js';
import { volumeRecords } from '../state/records.js';
import { secretMounts } from './secrets.js';
import { volumesFromMounts } from './volumes-from.js';
import { loadUserDb, resolveUser, type UserDb } from './user.js';
import type { ViewMount } from './view.js';

/** Where and how a service's mounts are prepared. */
export interface MountSetup {
  readonly roots: StateRoots;
  readonly project: Project;
  /** `make`: create what is missing (a first start); `find`: only find what a first start made (a restart). */
  readonly mode: 'make' | 'find';
  /** Owner of the folders made inside the project folder (SUDO_UID/SUDO_GID under sudo). */
  readonly invoker?: { readonly uid: number; readonly gid: number } | undefined;
  /** Users and groups `user:` resolves against (default: the host's). */
  readonly userDb?: UserDb | undefined;
  /**
   * An image service's copy-up (Docker's rule): fills a volume folder that is still empty, on a
   * first start, with the image's content at `target` (its owner and mode too). Not called for a
   * `nocopy` volume, nor on a restart.
   */
  readonly copyUp?: ((target: string, folder: string) => Promise<void>) | undefined;
}

/** A volume as the launcher mounts it (view.ts). */
export type ResolvedMount = ViewMount;

/** Record key of the anonymous volume of `service` at `target`. */
export function anonymousVolumeKey(service: string, target: string): string {
  return `anon+${service}+${sha256Hex(target).slice(0, 12)}`;
}

/** The volume name (its folder under the state root) of the anonymous volume of `service` at `target`. */
export function anonymousVolumeName(project: string, service: string, target: string): string {
  return `${project}_${anonymousVolumeKey(service, target).replaceAll('+', '_')}`;
}

/**
 * uid and gid a new volume folder gets: the `user` of the first service (by name) that mounts it
 * (for an image service, as its image resolved it). An image's own folder at the target, copied
 * up on the first start, then gives the folder its owner, as Docker does.
 */
export function volumeOwner(project: Project, mountedBy: readonly string[], userDb?: UserDb): { uid: number; gid: number } {
  for (const name of [...mountedBy].sort()) {
    const service = project.services[name];
    if (service?.imageRoot !== undefined) {
      if (service.imageRoot.identity.uid === 0 && service.imageRoot.identity.gid === 0) continue;
      return { uid: service.imageRoot.identity.uid, gid: service.imageRoot.identity.gid };
    }
    if (service?.user === undefined) continue;
    const id = resolveUser(name, service.user, userDb ?? loadUserDb());
    return { uid: id.uid, gid: id.gid };
  }
  return { uid: 0, gid: 0 };
}

/** Makes `path` if it is missing, owned by `owner`; an existing folder is left as it is. */
export async function makeVolumeFolder(path: string, owner: { uid: number; gid: number }): Promise<void> {
  const made = await mkdir(path, { recursive: true, mode: 0o755 });
  if (made !== undefined) await chown(path, owner.uid, owner.gid);
}

/** The folder holding every volume's folder (volumeDataDir's parent). */
function volumesRoot(roots: StateRoots): string {
  return dirname(volumeDataDir(roots, '_'));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Flags of open(2) for the walk below (O_PATH: x86-64/arm64 Linux value; Node has no constant). */
const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fsConstants;

/** The entry `name` of the folder open as `dirFd`, reached through the fd itself, never through a path. */
function entryOf(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`;
}

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function symlinkError(service: Service, mount: Mount & { source: string }, path: string, beneath: string): UserError {
  return new UserError(
    'BIND_SOURCE_SYMLINK',
    `service "${service.name}": bind source ${mount.source} (for ${mount.target}) goes through the symlink ${path}`,
    `stack does not follow a symlink inside ${beneath} (a service could have made it): if you made it, name the real path in the spec`,
  );
}

/** What a walk down a bind source creates: its missing folders, owned by `owner` inside `projectDir`. */
interface BindSourceMaking {
  readonly projectDir: string;
  readonly owner: MountSetup['invoker'];
}

/**
 * Walks a bind source down from `beneath` one component at a time, each opened relative to
 * the folder before it through a held fd (O_PATH|O_NOFOLLOW, then fstat): a symlink at any
 * component is refused with its path; with `making`, a missing folder is made (mkdir of one
 * name in the held folder, which never follows a symlink there) and handed to the invoker
 * through an fd of the folder just opened (fchown), never through a path a service could
 * swap between mkdir and chown. Returns whether the whole source exists.
 */
function walkBindSource(service: Service, mount: Mount & { source: string }, beneath: string, making?: BindSourceMaking): boolean {
  const parts = relative(beneath, mount.source).split(sep);
  let dir = openSync(beneath, O_PATH | O_DIRECTORY); // beneath itself is the host's layout, followed as Docker does
  let path = beneath;
  try {
    for (const [i, part] of parts.entries()) {
      path = join(path, part);
      let made = false;
      if (making !== undefined) {
        try {
          mkdirSync(entryOf(dir, part), 0o755);
          made = true;
        } catch (e) {
          if (errorCode(e) !== 'EEXIST') throw e;
        }
      }
      let next: number;
      try {
        next = openSync(entryOf(dir, part), O_PATH | O_NOFOLLOW);
      } catch (e) {
        if (errorCode(e) === 'ENOENT') return false;
        throw e;
      }
      const st = fstatSync(next);
      if (st.isSymbolicLink()) {
        closeSync(next);
        throw symlinkError(service, mount, path, beneath);
      }
      if (!st.isDirectory()) {
        closeSync(next);
        return i === parts.length - 1; // a file bound as the source itself; a file above it: the launcher says ENOTDIR
      }
      if (made && making?.owner !== undefined && inside(making.projectDir, path)) {
        const real = openSync(`/proc/self/fd/${next}`, O_RDONLY | O_DIRECTORY); // the very folder `next` holds
        try {
          fchownSync(real, making.owner.uid, making.owner.gid);
        } finally {
          closeSync(real);
        }
      }
      closeSync(dir);
      dir = next;
    }
    return true;
  } finally {
    closeSync(dir);
  }
}

/** Whether `path` lies strictly inside `dir`. */
function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith('..') && !r.startsWith(sep);
}

/**
 * The folder below which a bind source's path must not cross a symlink: the outermost of the
 * project folder and the folders any service of the project binds writable that holds it.
 * A service can replace what lies inside those (`./data` by a link to `/`); what lies above
 * them is the host's own layout (`/etc/localtime -> ...`), followed as Docker follows it.
 */
export function bindBeneath(project: Project, source: string): string | undefined {
  const writable = Object.values(project.services).flatMap((s) => s.volumes.flatMap((m) => (m.type === 'bind' && !m.readOnly ? [m.source] : [])));
  const holders = [project.workingDir, ...writable].filter((dir) => inside(dir, source));
  return holders.sort((a, b) => a.length - b.length)[0];
}

async function resolveMount(ctx: MountSetup, service: Service, mount: Mount): Promise<ResolvedMount> {
  const base = { target: mount.target, readOnly: mount.readOnly };
  if (mount.type === 'tmpfs') {
    return { type: 'tmpfs', ...base, ...(mount.sizeBytes !== undefined && { sizeBytes: mount.sizeBytes }), ...(mount.mode !== undefined && { mode: mount.mode }) };
  }
  if (mount.type === 'bind') {
    const beneath = bindBeneath(ctx.project, mount.source);
    const making = ctx.mode === 'make' && mount.createHostPath ? { projectDir: ctx.project.workingDir, owner: ctx.invoker } : undefined;
    const found = beneath !== undefined ? walkBindSource(service, mount, beneath, making) : await exists(mount.source);
    if (ctx.mode === 'make' && !found) {
      if (!mount.createHostPath) {
        throw new UserError(
          'BIND_SOURCE_MISSING',
          `service "${service.name}": bind source ${mount.source} (for ${mount.target}) does not exist`,
          'create it, or use the short syntax (`./dir:/target`), which creates a missing folder',
        );
      }
      // Outside the project and every folder bound writable: the host's own layout, made as Docker makes it.
      if (beneath === undefined) await mkdir(mount.source, { recursive: true, mode: 0o755 });
    }
    return { type: 'bind', source: mount.source, ...base, ...(beneath !== undefined && { beneath }) };
  }
  if (mount.source !== undefined) {
    const volume = ctx.project.volumes[mount.source];
    if (!volume) throw new Error(`service ${service.name}: volume ${mount.source} is not in the project`);
    const path = volumeDataDir(ctx.roots, volume.name);
    if (ctx.mode === 'make' && !(await exists(path))) {
      if (volume.external) {
        throw new UserError(
          'VOLUME_MISSING',
          `service "${service.name}": external volume ${volume.name} does not exist (no folder ${path})`,
          'create it first (it is external: stack never creates it), or drop `external: true`',
        );
      }
      throw new Error(`service ${service.name}: volume folder ${path} is missing (a bug: create-volume runs first)`);
    }
    if (ctx.mode === 'make' && !mount.noCopy) await copyUpIfEmpty(ctx, mount.target, path);
    return { type: 'bind', source: path, ...base, beneath: volumesRoot(ctx.roots) };
  }
  const key = anonymousVolumeKey(service.name, mount.target);
  if (ctx.mode === 'find') {
    const record = await volumeRecords.read(ctx.roots, ctx.project.name, key);
    if (!record) throw new Error(`service ${service.name}: no record of its anonymous volume at ${mount.target}`);
    return { type: 'bind', source: record.path, ...base, ...(inside(volumesRoot(ctx.roots), record.path) && { beneath: volumesRoot(ctx.roots) }) };
  }
  const name = anonymousVolumeName(ctx.project.name, service.name, mount.target);
  const path = volumeDataDir(ctx.roots, name);
  await volumeRecords.write(ctx.roots, { version: 1, kind: 'volume', project: ctx.project.name, key, name, path, owner: service.name });
  await makeVolumeFolder(path, volumeOwner(ctx.project, [service.name], ctx.userDb));
  if (!mount.noCopy) await copyUpIfEmpty(ctx, mount.target, path);
  return { type: 'bind', source: path, ...base, beneath: volumesRoot(ctx.roots) };
}

/**
 * Empties the service's anonymous volumes (`up -V`: compose's --renew-anon-volumes): their folders
 * go, and its next start makes them anew (and copies an image's content into them). Their names
 * are the service's and the target's, so a recreated or new service would otherwise take over
 * what its predecessor left. Called with no process of the service running.
 */
export async function renewAnonymousVolumes(roots: StateRoots, project: Project, service: Service): Promise<void> {
  for (const mount of service.volumes) {
    if (mount.type !== 'volume' || mount.source !== undefined) continue;
    await rm(volumeDataDir(roots, anonymousVolumeName(project.name, service.name, mount.target)), { recursive: true, force: true });
  }
}

/** Runs the setup's copy-up into `folder` when it is empty (a new volume; one with data is left as it is). */
async function copyUpIfEmpty(ctx: MountSetup, target: string, folder: string): Promise<void> {
  if (ctx.copyUp === undefined) return;
  if ((await readdir(folder)).length > 0) return;
  await ctx.copyUp(target, folder);
}

/** Every volume of `service`, ready to mount, in spec order, then its secrets and configs. */
export async function prepareMounts(ctx: MountSetup, service: Service): Promise<ResolvedMount[]> {
  const out: ResolvedMount[] = [];
  for (const mount of service.volumes) out.push(await resolveMount(ctx, service, mount));
  // volumes_from: other services' volumes, found as they made them (volumes-from.ts).
  for (const [owner, mount] of volumesFromMounts(ctx.project, service)) out.push(await resolveMount({ ...ctx, mode: 'find' }, owner, mount));
  // Secrets and configs: read-only binds of a host file or of the file stack wrote (secrets.ts).
  for (const mount of await secretMounts(ctx, service)) out.push(await resolveMount(ctx, service, mount));
  return out;
}

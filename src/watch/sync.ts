// `sync` rules: where a rule's target lives on the host, and the copy itself. The target must
// lie in a named or anonymous volume of the service (it outlives restarts; a tmpfs does not, and
// a bind mount would write to the host), so a copy is a write into that volume's folder.
// The volume is the service's, and the service may be hostile: it can plant symlinks there.
// Every folder on the way is opened with O_NOFOLLOW and the rest of the path is resolved from
// that open folder (/proc/self/fd/N/...), so a symlink swapped in at any moment is never followed
// out of the volume; files are written to a temporary name and renamed over the old one.
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { UserError } from '../errors.js';
import type { Mount, Service, WatchRule } from '../spec/project.js';

/** Where a sync rule's copies go. */
export type SyncDestination =
  /** A folder of one of the service's volumes, on the host. */
  | { readonly kind: 'volume'; readonly hostDir: string; readonly volume: string }
  /** The watched path is bind-mounted at the target already: nothing to copy. */
  | { readonly kind: 'bound' };

/** Whether `inner` is `outer` or lies under it (posix paths). */
function within(outer: string, inner: string): boolean {
  const r = posix.relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !posix.isAbsolute(r));
}

/**
 * The destination of `rule` for `service`; `volumeDir(mount)` gives a volume mount's host folder.
 * A UserError names service and rule when the target is not in a writable volume.
 */
export function syncDestination(
  service: Service,
  rule: WatchRule,
  context: string,
  volumeDir: (mount: Extract<Mount, { type: 'volume' }>) => string,
): SyncDestination {
  const target = posix.normalize(rule.target ?? '/');
  const covering = service.volumes
    .filter((m) => within(posix.normalize(m.target), target))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (covering?.type === 'bind' && posix.join(covering.source, posix.relative(posix.normalize(covering.target), target)) === posix.normalize(rule.path)) {
    return { kind: 'bound' };
  }
  const hint = `declare a volume at or above ${target} (e.g. \`- app:${target}\` or an anonymous \`- ${target}\`), or bind the watched folder there (\`- ${rule.path}:${target}\`) and use action: restart`;
  if (!covering) {
    throw new UserError('WATCH_TARGET', `${context}: target ${target} is not in a volume of the service, so there is nowhere to copy to`, hint);
  }
  if (covering.type === 'tmpfs') {
    throw new UserError('WATCH_TARGET', `${context}: target ${target} is in a tmpfs (${covering.target}), which is emptied on every restart`, hint);
  }
  if (covering.type === 'bind') {
    throw new UserError('WATCH_TARGET', `${context}: target ${target} is in a bind mount of ${covering.source}: a copy there would write to the host`, hint);
  }
  if (covering.readOnly) {
    throw new UserError('WATCH_TARGET', `${context}: target ${target} is in a read-only volume (${covering.target})`, 'make the volume writable, or sync elsewhere');
  }
  const rest = posix.relative(posix.normalize(covering.target), target);
  return { kind: 'volume', hostDir: posix.join(volumeDir(covering), rest), volume: covering.source ?? `anonymous volume at ${covering.target}` };
}

/** Who owns what a sync writes (the service's user). */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Opens `base/parts...` folder by folder without following symlinks, creating what is missing. */
async function openInside(base: string, parts: readonly string[], owner: Owner | undefined): Promise<fs.FileHandle> {
  let dir = await fs.open(base, DIR_FLAGS);
  try {
    for (const part of parts) {
      const at = `/proc/self/fd/${dir.fd}/${part}`;
      let next: fs.FileHandle;
      try {
        next = await fs.open(at, DIR_FLAGS);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR') {
          // a symlink or a file where a folder belongs: replaced, never followed
          await fs.unlink(at).catch(() => undefined);
        } else if (code !== 'ENOENT') throw e;
        await fs.mkdir(at, { mode: 0o755 }).catch((m: NodeJS.ErrnoException) => {
          if (m.code !== 'EEXIST') throw m;
        });
        next = await fs.open(at, DIR_FLAGS);
        if (owner) await next.chown(owner.uid, owner.gid);
      }
      await dir.close();
      dir = next;
    }
    return dir;
  } catch (e) {
    await dir.close();
    throw e;
  }
}

/** A relative posix path split into safe parts (never `..`, never absolute). */
function partsOf(rel: string): string[] {
  if (isAbsolute(rel)) throw new Error(`not relative: ${rel}`);
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`outside the target: ${rel}`);
  return parts;
}

/** Copies the host file `source` to `hostDir/rel` (written aside, then renamed in place). */
export async function copyInto(hostDir: string, rel: string, source: string, owner: Owner | undefined): Promise<void> {
  const parts = partsOf(rel);
  const name = parts.pop();
  await fs.mkdir(hostDir, { recursive: true });
  if (name === undefined) throw new Error('a sync copy needs a file name');
  const info = await fs.stat(source);
  const dir = await openInside(hostDir, parts, owner);
  try {
    const base = `/proc/self/fd/${dir.fd}`;
    if (info.isDirectory()) {
      (await openInside(base, [name], owner)).close();
      return;
    }
    const temp = `${base}/.stack-sync-${process.pid}-${name}`.slice(0, base.length + 250);
    const content = await fs.readFile(source);
    const file = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, info.mode & 0o7777);
    try {
      await file.writeFile(content);
      await file.chmod(info.mode & 0o7777);
      if (owner) await file.chown(owner.uid, owner.gid);
    } finally {
      await file.close();
    }
    try {
      await fs.rename(temp, `${base}/${name}`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await removeAt(base, name); // a folder where the file now is
      await fs.rename(temp, `${base}/${name}`);
    }
  } finally {
    await dir.close();
  }
}

/** Removes `hostDir/rel` (file or folder); what is already gone is success. */
export async function removeFrom(hostDir: string, rel: string): Promise<void> {
  const parts = partsOf(rel);
  const name = parts.pop();
  if (name === undefined) return;
  let dir: fs.FileHandle;
  try {
    dir = await openExisting(hostDir, parts);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return; // its folder is gone already
    throw e;
  }
  try {
    await removeAt(`/proc/self/fd/${dir.fd}`, name);
  } finally {
    await dir.close();
  }
}

/**
 * Removes `name` in the open folder `base` (a /proc/self/fd path): a folder is opened without
 * following symlinks and emptied entry by entry through its own descriptor, so a symlink
 * swapped in meanwhile is unlinked, never followed.
 */
async function removeAt(base: string, name: string): Promise<void> {
  const at = `${base}/${name}`;
  let dir: fs.FileHandle;
  try {
    dir = await fs.open(at, DIR_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
    await fs.unlink(at).catch((u: NodeJS.ErrnoException) => {
      if (u.code !== 'ENOENT') throw u;
    });
    return;
  }
  try {
    const inner = `/proc/self/fd/${dir.fd}`;
    for (const entry of await fs.readdir(inner)) await removeAt(inner, entry);
  } finally {
    await dir.close();
  }
  await fs.rmdir(at).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

async function openExisting(base: string, parts: readonly string[]): Promise<fs.FileHandle> {
  let dir = await fs.open(base, DIR_FLAGS);
  for (const part of parts) {
    try {
      const next = await fs.open(`/proc/self/fd/${dir.fd}/${part}`, DIR_FLAGS);
      await dir.close();
      dir = next;
    } catch (e) {
      await dir.close();
      throw e;
    }
  }
  return dir;
}

// `sync` rules: where a rule's target lives on the host, and the copy itself. The target must
// lie in a named or anonymous volume of the service (it outlives restarts; a tmpfs does not, and
// a bind mount would write to the host), so a copy is a write into that volume's folder.
// The volume is the service's, and the service may be hostile: it can plant symlinks anywhere in
// it, the target's own folders included. So nothing inside the volume is ever named by a path:
// from the volume's root folder (stack's own), every folder on the way is opened with O_NOFOLLOW
// and the next name is resolved from that open folder (/proc/self/fd/N/name), so a symlink
// swapped in at any moment is replaced, never followed out of the volume; files are written to a
// temporary name and renamed over the old one. On the host side, a symlink in the watched folder
// is copied as a symlink (as compose's copy does), never followed into a file it points at.
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { UserError } from '../errors.js';
import type { Mount, Service, WatchRule } from '../spec/project.js';

/** Where a sync rule's copies go. */
export type SyncDestination =
  /**
   * A place in one of the service's volumes: its host folders (`roots`, made and owned by stack:
   * one for a named volume, which every replica shares; one per replica for an anonymous volume)
   * and the target's path inside each (`base`, `''` for the volume's mount point).
   */
  | { readonly kind: 'volume'; readonly roots: readonly string[]; readonly base: string; readonly volume: string }
  /** The watched path is bind-mounted at the target already: nothing to copy. */
  | { readonly kind: 'bound' };

/** Whether `inner` is `outer` or lies under it (posix paths). */
function within(outer: string, inner: string): boolean {
  const r = posix.relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !posix.isAbsolute(r));
}

/**
 * The destination of `rule` for `service`; `volumeDirs(mount)` gives a volume mount's host folders
 * (an anonymous volume's, one per replica of a scaled service).
 * A UserError names service and rule when the target is not in a writable volume.
 */
export function syncDestination(
  service: Service,
  rule: WatchRule,
  context: string,
  volumeDirs: (mount: Extract<Mount, { type: 'volume' }>) => readonly string[],
  isDirectory = true,
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
  const base = posix.relative(posix.normalize(covering.target), target);
  if (base === '' && !isDirectory) {
    throw new UserError(
      'WATCH_TARGET',
      `${context}: the watched path is a file, and its target ${target} is the mount point of a volume (a folder)`,
      `name the file inside it, e.g. target: ${posix.join(target, posix.basename(rule.path))}`,
    );
  }
  return { kind: 'volume', roots: volumeDirs(covering), base, volume: covering.source ?? `anonymous volume at ${covering.target}` };
}

/** Who owns what a sync writes (the service's user). */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A relative posix path split into safe parts (never `..`, never absolute). */
export function partsOf(rel: string): string[] {
  if (isAbsolute(rel)) throw new Error(`not relative: ${rel}`);
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`outside the target: ${rel}`);
  return parts;
}

/**
 * Opens `root/parts...` folder by folder without following symlinks; with `create`, a missing
 * folder is made (owned by `owner`) and a symlink or file where a folder belongs is replaced.
 */
async function walkInside(root: string, parts: readonly string[], create: boolean, owner?: Owner): Promise<fs.FileHandle> {
  let dir = await fs.open(root, DIR_FLAGS);
  try {
    for (const part of parts) {
      const at = `/proc/self/fd/${dir.fd}/${part}`;
      let next: fs.FileHandle;
      try {
        next = await fs.open(at, DIR_FLAGS);
      } catch (e) {
        if (!create) throw e;
        if (code(e) === 'ELOOP' || code(e) === 'ENOTDIR') await fs.unlink(at).catch(() => undefined); // replaced, never followed
        else if (code(e) !== 'ENOENT') throw e;
        await fs.mkdir(at, { mode: 0o755 }).catch((m: unknown) => {
          if (code(m) !== 'EEXIST') throw m;
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

/** Puts what `make(tempPath)` creates at `name` in the open folder `dir` (rename over the old). */
async function replaceAt(dir: string, name: string, make: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${dir}/.stack-sync-${process.pid}-${name}`.slice(0, dir.length + 250);
  await fs.rm(temp, { force: true }); // a leftover of a cut-short copy (rm does not follow a final symlink)
  await make(temp);
  try {
    await fs.rename(temp, `${dir}/${name}`);
  } catch (e) {
    if (code(e) !== 'EISDIR' && code(e) !== 'ENOTEMPTY' && code(e) !== 'EEXIST') {
      await fs.rm(temp, { force: true });
      throw e;
    }
    await removeAt(dir, name); // a folder where the file now is
    await fs.rename(temp, `${dir}/${name}`);
  }
}

/** What a copy did. */
export type CopyOutcome = 'copied' | 'skipped';

/**
 * Copies the host path `source` to `rel` inside the volume folder `root`: a file (read through
 * one O_NOFOLLOW descriptor), a symlink as a symlink, a folder as a folder. Sockets, FIFOs and
 * devices are skipped.
 */
export async function copyInto(root: string, rel: string, source: string, owner: Owner | undefined): Promise<CopyOutcome> {
  const parts = partsOf(rel);
  const name = parts.pop();
  if (name === undefined) throw new Error('a sync copy needs a name inside the volume');
  let file: fs.FileHandle | undefined;
  let link: string | undefined;
  try {
    file = await fs.open(source, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (code(e) !== 'ELOOP') throw e;
    link = await fs.readlink(source);
  }
  try {
    const info = file ? await file.stat() : undefined;
    if (info && !info.isFile() && !info.isDirectory()) return 'skipped';
    const dir = await walkInside(root, parts, true, owner);
    try {
      const base = `/proc/self/fd/${dir.fd}`;
      if (info?.isDirectory()) {
        await (await walkInside(base, [name], true, owner)).close();
        return 'copied';
      }
      if (link !== undefined) {
        await replaceAt(base, name, async (temp) => {
          await fs.symlink(link!, temp);
          if (owner) await fs.lchown(temp, owner.uid, owner.gid);
        });
        return 'copied';
      }
      const content = await file!.readFile();
      const mode = info!.mode & 0o7777;
      await replaceAt(base, name, async (temp) => {
        const out = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        try {
          await out.writeFile(content);
          await out.chmod(mode);
          if (owner) await out.chown(owner.uid, owner.gid);
        } finally {
          await out.close();
        }
      });
      return 'copied';
    } finally {
      await dir.close();
    }
  } finally {
    await file?.close();
  }
}

/** Removes `rel` (file, symlink or folder) inside the volume folder `root`; what is gone is success. */
export async function removeFrom(root: string, rel: string): Promise<void> {
  const parts = partsOf(rel);
  const name = parts.pop();
  if (name === undefined) return;
  let dir: fs.FileHandle;
  try {
    dir = await walkInside(root, parts, false);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ELOOP' || code(e) === 'ENOTDIR') return; // its folder is gone already
    throw e;
  }
  try {
    await removeAt(`/proc/self/fd/${dir.fd}`, name);
  } finally {
    await dir.close();
  }
}

/**
 * The bytes of the regular file at `rel` inside the volume folder `root`, read without following
 * any symlink; undefined when it is missing, not a regular file, or larger than `maxBytes`.
 */
export async function readInside(root: string, rel: string, maxBytes: number): Promise<Buffer | undefined> {
  const parts = partsOf(rel);
  const name = parts.pop();
  if (name === undefined) return undefined;
  let dir: fs.FileHandle;
  try {
    dir = await walkInside(root, parts, false);
  } catch {
    return undefined;
  }
  try {
    const file = await fs.open(`/proc/self/fd/${dir.fd}/${name}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
    if (!file) return undefined;
    try {
      const info = await file.stat();
      if (!info.isFile() || info.size > maxBytes) return undefined;
      return await file.readFile();
    } finally {
      await file.close();
    }
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
    if (code(e) === 'ENOENT') return;
    if (code(e) !== 'ELOOP' && code(e) !== 'ENOTDIR') throw e;
    await fs.unlink(at).catch((u: unknown) => {
      if (code(u) !== 'ENOENT') throw u;
    });
    return;
  }
  try {
    const inner = `/proc/self/fd/${dir.fd}`;
    for (const entry of await fs.readdir(inner)) await removeAt(inner, entry);
  } finally {
    await dir.close();
  }
  await fs.rmdir(at).catch((e: unknown) => {
    if (code(e) !== 'ENOENT') throw e;
  });
}

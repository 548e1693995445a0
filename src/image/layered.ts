// An image's merged view read straight from its unpacked layer folders, without mounting
// anything: what overlayfs would show at a path (the topmost layer that has it; a whiteout, a 0:0
// character device, hides the layers below; a folder marked `trusted.overlay.opaque=y` hides the
// content of the layers below; a non-folder hides everything below, and a folder hides a
// non-folder below), with every symlink on the way resolved inside the merged view (an absolute
// target or `..` never climbs above its root, as runc's securejoin does for one root).
//
// The layers are hostile input but static: they are folders of the image store that only the
// unpacker wrote, before they were renamed into place. So a component found here by lstat is
// still what it was when it is used next; reading a file still opens it with O_NOFOLLOW and
// checks what was opened, and anything that is not a small regular file is refused.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { parseGroup, parsePasswd, resolveUser, type Identity, type UserDb } from '../runtime/index.js';
import { lgetxattr } from '../sys/xattr.js';

/** The largest /etc/passwd or /etc/group read from an image. */
export const USER_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** Symlinks followed before a path is refused as a loop (Linux's own limit). */
const MAX_LINKS = 40;

/** The xattr overlayfs reads as "this folder hides the content of the layers below". */
const OPAQUE_XATTR = 'trusted.overlay.opaque';

const HINT_MALFORMED = 'the image is malformed or was crafted to reach outside itself; rebuild it or use another image';

/** A UserError (BAD_IMAGE_FILE) naming `file` of `image` and what is wrong with it. */
export function badImageFile(image: string, file: string, what: string, hint = HINT_MALFORMED): UserError {
  return new UserError('BAD_IMAGE_FILE', `image ${image}: ${file} ${what}`, hint);
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** One entry of the merged view: a folder (the layers' folders that make it up) or anything else (one host path). */
export type MergedEntry =
  | {
      readonly kind: 'dir';
      /** Host paths of the folders merged at this path, topmost first (the first gives the folder's own metadata). */
      readonly dirs: readonly string[];
      /** lstat of dirs[0]. */
      readonly stat: Stats;
    }
  | {
      readonly kind: 'other';
      /** Host path of the entry in the topmost layer that has it. */
      readonly path: string;
      /** Its lstat (a symlink is not followed). */
      readonly stat: Stats;
    };

/** A folder of the merged view. */
export type MergedDir = MergedEntry & { kind: 'dir' };

/** True for overlayfs's whiteout: a character device 0:0. */
export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** True when the folder `path` carries overlayfs's opaque marker. */
function isOpaque(path: string): boolean {
  try {
    return lgetxattr(path, OPAQUE_XATTR)?.toString('latin1') === 'y';
  } catch {
    return false; // no xattr support, or no permission to read trusted.*: not marked
  }
}

function lstatOrNone(path: string, image: string, inImage: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw badImageFile(image, inImage, `cannot be read (${code ?? String(e)})`);
  }
}

/** The merged root of `layerDirs` (lowest first); overlayfs ignores an opaque marker on the root, so does this. */
export function mergedRoot(layerDirs: readonly string[], image: string): MergedDir {
  const dirs = [...layerDirs].reverse();
  const top = dirs[0];
  if (top === undefined) throw badImageFile(image, '/', 'is in no layer (the image has no layers)');
  const stat = lstatOrNone(top, image, '/');
  if (!stat?.isDirectory()) throw badImageFile(image, '/', `has no layer folder at ${top}`, 'the image store is damaged; pull the image again');
  return { kind: 'dir', dirs, stat };
}

/**
 * The entry named `name` in the merged folder `parent`, or undefined when no layer has it or a
 * whiteout hides it. Nothing is followed: a symlink is returned as itself.
 */
export function mergedChild(parent: MergedDir, name: string, image: string, inImage = name): MergedEntry | undefined {
  const dirs: string[] = [];
  let stat: Stats | undefined;
  for (const d of parent.dirs) {
    const p = join(d, name);
    const st = lstatOrNone(p, image, inImage);
    if (!st) continue;
    if (isWhiteout(st)) break;
    if (st.isDirectory()) {
      if (dirs.length === 0) stat = st;
      dirs.push(p);
      if (isOpaque(p)) break;
      continue;
    }
    if (dirs.length === 0) return { kind: 'other', path: p, stat: st };
    break; // a folder above hides a non-folder below
  }
  return stat === undefined ? undefined : { kind: 'dir', dirs, stat };
}

/**
 * The merged view's entry at `pathInImage` (absolute inside the image), every symlink on the way
 * resolved inside the view, the last one too unless `followLast` is false; undefined when a
 * component is missing, whited out, or not a folder where one is needed. A loop is refused.
 */
export function lookupMerged(layerDirs: readonly string[], pathInImage: string, image: string, followLast = true): MergedEntry | undefined {
  if (pathInImage.includes('\0')) throw badImageFile(image, JSON.stringify(pathInImage), 'has a NUL byte');
  const root = mergedRoot(layerDirs, image);
  const stack: MergedDir[] = [root];
  const pending = pathInImage.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  let last: MergedEntry = root;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      if (stack.length > 1) stack.pop();
      last = stack[stack.length - 1]!;
      continue;
    }
    const e = mergedChild(stack[stack.length - 1]!, c, image, pathInImage);
    if (!e) return undefined;
    if (e.kind === 'other' && e.stat.isSymbolicLink() && (pending.length > 0 || followLast)) {
      if (++links > MAX_LINKS) throw badImageFile(image, pathInImage, `has more than ${MAX_LINKS} symlinks on its way (a loop)`);
      let target: string;
      try {
        target = readlinkSync(e.path);
      } catch (err) {
        throw badImageFile(image, pathInImage, `has a symlink that cannot be read (${errnoCode(err) ?? String(err)})`);
      }
      if (target === '') return undefined; // Linux: ENOENT
      if (target.startsWith('/')) stack.length = 1;
      last = stack[stack.length - 1]!;
      pending.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
      continue;
    }
    if (e.kind !== 'dir') {
      if (pending.length > 0) return undefined; // a file where a folder is needed (ENOTDIR)
      return e;
    }
    stack.push(e);
    last = e;
  }
  return last;
}

/**
 * The host path of the entry the merged view of `layerDirs` (lowest first, absolute) shows at
 * `pathInImage`, symlinks resolved inside the view (the last one too); undefined when absent.
 * For a folder this is the topmost layer's folder: use lookupMerged to see all of its layers.
 */
export function lookupInLayers(layerDirs: readonly string[], pathInImage: string, image: string): string | undefined {
  const e = lookupMerged(layerDirs, pathInImage, image);
  if (!e) return undefined;
  return e.kind === 'dir' ? e.dirs[0] : e.path;
}

/** The text of a file of the merged view ('' when absent); refused unless a regular file of at most `maxBytes`. */
export function readLayeredFile(layerDirs: readonly string[], pathInImage: string, image: string, maxBytes = USER_FILE_MAX_BYTES, hint?: string): string {
  const e = lookupMerged(layerDirs, pathInImage, image);
  if (!e) return '';
  if (e.kind === 'dir') throw badImageFile(image, pathInImage, 'is not a regular file', hint);
  let fd: number;
  try {
    // O_NOFOLLOW: the path was resolved above, a symlink is refused, never followed; O_NONBLOCK:
    // opening a FIFO never waits for a writer.
    fd = openSync(e.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw badImageFile(image, pathInImage, `cannot be opened (${errnoCode(err) ?? String(err)})`, hint);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw badImageFile(image, pathInImage, 'is not a regular file', hint);
    if (st.size > maxBytes) throw badImageFile(image, pathInImage, `is ${st.size} bytes, more than the ${maxBytes} this reads`, hint);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const HINT_USER_FILE = 'the image is malformed; rebuild it with a regular /etc/passwd and /etc/group, or give a numeric user: uid:gid';

/** The image's users and groups, read from the merged view of its layers (lowest first). */
export function loadLayeredUserDb(layerDirs: readonly string[], image: string): UserDb {
  return {
    passwd: parsePasswd(readLayeredFile(layerDirs, '/etc/passwd', image, USER_FILE_MAX_BYTES, HINT_USER_FILE)),
    group: parseGroup(readLayeredFile(layerDirs, '/etc/group', image, USER_FILE_MAX_BYTES, HINT_USER_FILE)),
  };
}

/**
 * The identity a service of an image runs as: the spec's `user` else the image's `User` (root
 * when neither), names resolved in the /etc/passwd and /etc/group of the merged view of the
 * image's layers (lowest first), never the host's. A numeric `uid:gid` reads no file.
 */
export function resolveLayeredUser(service: string, image: string, user: string | undefined, layerDirs: readonly string[]): Identity {
  if (user === undefined || user === '') return { uid: 0, gid: 0, groups: [] };
  if (user.includes('\0')) throw new UserError('USER_UNKNOWN', `service "${service}": user ${JSON.stringify(user)} has a NUL byte`, 'give a user name or a numeric uid[:gid]');
  if (/^\d+:\d+$/.test(user)) {
    const [uid, gid] = user.split(':').map(Number) as [number, number];
    if (uid <= 0xfffffffe && gid <= 0xfffffffe) return { uid, gid, groups: [] };
  }
  const db = loadLayeredUserDb(layerDirs, image);
  try {
    return resolveUser(service, user, db);
  } catch (e) {
    if (e instanceof UserError && (e.code === 'USER_UNKNOWN' || e.code === 'GROUP_UNKNOWN')) {
      const file = e.code === 'USER_UNKNOWN' ? '/etc/passwd' : '/etc/group';
      throw new UserError(e.code, `service "${service}": ${e.message.replace(/^service "[^"]*": /, '').replace(/ is not in \/etc\/\w+$/, '')} is not in the ${file} of image ${image}`,
        `name a user the image defines (\`cat ${file}\` inside it), or give a numeric uid[:gid]`);
    }
    throw e;
  }
}

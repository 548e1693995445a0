// A service's `user:` (or the image's `User`) resolved against the IMAGE's /etc/passwd and
// /etc/group, never the host's. The image root is hostile input: its /etc/passwd may be a
// symlink aimed at the host's. Every symlink on the way is resolved inside the root (an
// absolute target or `..` never climbs above it, as runc's securejoin does), the last step is
// opened with O_NOFOLLOW, and anything that is not a small regular file is refused.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { parseGroup, parsePasswd, resolveUser, type Identity, type UserDb } from '../runtime/index.js';

/** The largest /etc/passwd or /etc/group read from an image. */
export const USER_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** Symlinks followed before a path is refused as a loop (Linux's own limit). */
const MAX_LINKS = 40;

function badFile(image: string, file: string, what: string): UserError {
  return new UserError('BAD_IMAGE_FILE', `image ${image}: ${file} ${what}`,
    'the image is malformed; rebuild it with a regular /etc/passwd and /etc/group, or give a numeric user: uid:gid');
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The host path of `inRoot` (absolute, inside the image) with every symlink resolved within
 * `root`; undefined when a component does not exist. The last component is resolved too.
 */
export function resolveInRoot(root: string, inRoot: string, image: string): string | undefined {
  const pending = inRoot.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, c);
    let st;
    try {
      st = lstatSync(host);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw badFile(image, inRoot, `cannot be read (${errnoCode(e) ?? String(e)})`);
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw badFile(image, inRoot, `has more than ${MAX_LINKS} symlinks on its way (a loop)`);
    const target = readlinkSync(host);
    if (target.includes('\0')) throw badFile(image, inRoot, 'is a symlink with a NUL byte');
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
  }
  return join(root, ...done);
}

/** The text of a file inside the image root ('' when it is absent); refused unless a small regular file. */
export function readImageFile(root: string, inRoot: string, image: string): string {
  const host = resolveInRoot(root, inRoot, image);
  if (host === undefined) return '';
  let fd: number;
  try {
    // O_NOFOLLOW: the path was resolved above; a symlink swapped in since is refused, not followed.
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return '';
    throw badFile(image, inRoot, `cannot be opened (${errnoCode(e) ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw badFile(image, inRoot, 'is not a regular file');
    if (st.size > USER_FILE_MAX_BYTES) throw badFile(image, inRoot, `is ${st.size} bytes, more than the ${USER_FILE_MAX_BYTES} this reads`);
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

/** The image's users and groups, read from its unpacked root. */
export function loadImageUserDb(root: string, image: string): UserDb {
  return { passwd: parsePasswd(readImageFile(root, '/etc/passwd', image)), group: parseGroup(readImageFile(root, '/etc/group', image)) };
}

/** True for `uid` or `uid:gid` written with digits only: no file needs reading. */
function numericOnly(user: string): boolean {
  return /^\d+(:\d+)?$/.test(user);
}

/**
 * The identity a service of an image runs as: the spec's `user` else the image's `User`
 * (root when neither), names resolved in the image root's /etc/passwd and /etc/group.
 */
export function resolveImageUser(service: string, image: string, user: string | undefined, root: string): Identity {
  if (user === undefined || user === '') return { uid: 0, gid: 0, groups: [] };
  if (user.includes('\0')) throw new UserError('USER_UNKNOWN', `service "${service}": user ${JSON.stringify(user)} has a NUL byte`, 'give a user name or a numeric uid[:gid]');
  if (numericOnly(user) && user.includes(':')) {
    const [uid, gid] = user.split(':').map(Number) as [number, number];
    if (uid <= 0xfffffffe && gid <= 0xfffffffe) return { uid, gid, groups: [] };
  }
  const db = loadImageUserDb(root, image);
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

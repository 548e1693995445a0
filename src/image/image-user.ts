// A service's `user:` (or the image's `User`) resolved against the IMAGE's /etc/passwd and
// /etc/group, never the host's, for an image given as ONE root folder. The work is layered.ts's
// (the merged view of an image's layers): one root is the view of a single layer. The root is
// hostile input: its /etc/passwd may be a symlink aimed at the host's; every symlink on the way
// is resolved inside the root, and anything that is not a small regular file is refused.
import type { Identity, UserDb } from '../runtime/index.js';
import { loadLayeredUserDb, lookupInLayers, readLayeredFile, resolveLayeredUser, USER_FILE_MAX_BYTES } from './layered.js';

export { USER_FILE_MAX_BYTES };

/**
 * The host path of `inRoot` (absolute, inside the image) with every symlink resolved within
 * `root`; undefined when a component does not exist. The last component is resolved too.
 */
export function resolveInRoot(root: string, inRoot: string, image: string): string | undefined {
  return lookupInLayers([root], inRoot, image);
}

/** The text of a file inside the image root ('' when it is absent); refused unless a small regular file. */
export function readImageFile(root: string, inRoot: string, image: string): string {
  return readLayeredFile([root], inRoot, image);
}

/** The image's users and groups, read from its unpacked root. */
export function loadImageUserDb(root: string, image: string): UserDb {
  return loadLayeredUserDb([root], image);
}

/**
 * The identity a service of an image runs as: the spec's `user` else the image's `User`
 * (root when neither), names resolved in the image root's /etc/passwd and /etc/group.
 */
export function resolveImageUser(service: string, image: string, user: string | undefined, root: string): Identity {
  return resolveLayeredUser(service, image, user, [root]);
}

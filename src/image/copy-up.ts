// A new volume's first content: the image's content at the mount point, copied from the merged
// view of the image's layers (layered.ts) into the volume's empty data folder, as Docker does.
//
// The layers are hostile input: nothing in them is ever followed. A symlink is copied as a
// symlink (its text is data), a file is opened with O_NOFOLLOW and checked to be the regular
// file the walk found, folders are walked by lstat in the layer folders only. The destination
// is written with mkdir, O_CREAT|O_EXCL|O_NOFOLLOW, symlink, link, lchown, lutimes, lsetxattr and
// operations on an fd opened with O_NOFOLLOW, so even a symlink that appeared in it is never
// followed in the last component. The folders on the way are ones this copy just made inside
// the new volume folder, which nothing else writes until the copy is done (the service using
// the volume starts after it), so no component on the way can have become a symlink meanwhile.
import { constants as C, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError, UserError } from '../errors.js';
import { llistxattr } from '../sys/xattr-list.js';
import { lgetxattr, lsetxattr } from '../sys/xattr.js';
import { copyChunks } from '../sys/file-chunks.js';
import { badImageFile, lookupMerged, mergedChild, type MergedDir } from './layered.js';

/** What a copy did, for a notice: entries made, bytes copied, and entries or xattrs left out (one line each). */
export interface CopyUpResult {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Files made as a hardlink to a file copied before (they share an inode in the layer). */
  readonly hardlinks: number;
  readonly bytes: number;
  /** Device nodes, sockets and FIFOs skipped, xattrs the destination refused; at most MAX_NOTES. */
  readonly skipped: string[];
}

const MAX_NOTES = 100;

/** Xattrs overlayfs keeps for itself (opaque, redirect, origin…): never copied. */
const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';

function errnoOf(e: unknown): string {
  if (e instanceof KernelError) return e.errno;
  return (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);
}

/** One copy of a merged folder into an empty destination. */
class Copier {
  files = 0;
  dirs = 0;
  symlinks = 0;
  hardlinks = 0;
  bytes = 0;
  readonly skipped: string[] = [];
  private notesLeftOut = 0;
  /** `dev:ino` of each copied file that has other names in its layer → the destination path. */
  private readonly linked = new Map<string, string>();

  constructor(private readonly image: string) {}

  note(line: string): void {
    if (this.skipped.length < MAX_NOTES) this.skipped.push(line);
    else this.notesLeftOut++;
  }

  notes(): string[] {
    return this.notesLeftOut === 0 ? this.skipped : [...this.skipped, `… and ${this.notesLeftOut} more`];
  }

  /** Copies the content of the merged folder `src` (shown at `inImage`) into the existing folder `dst`. */
  async children(src: MergedDir, dst: string, inImage: string): Promise<void> {
    const names = new Set<string>();
    for (const d of src.dirs) for (const n of await fs.readdir(d)) names.add(n);
    for (const name of [...names].sort()) {
      const at = `${inImage.replace(/\/$/, '')}/${name}`;
      const e = mergedChild(src, name, this.image, at);
      if (!e) {
        // Whited out, or a name that is not UTF-8 (Node's readdir mangles it, so no layer has the mangled name).
        if (name.includes('\ufffd')) this.note(`${at}: skipped (its name is not UTF-8)`);
        continue;
      }
      const to = join(dst, name);
      if (e.kind === 'dir') {
        await fs.mkdir(to, 0o700);
        await this.children(e, to, at);
        await this.finishDir(e.dirs[0]!, e.stat, to, at, true);
        this.dirs++;
      } else if (e.stat.isSymbolicLink()) {
        await this.symlink(e.path, e.stat, to, at);
      } else if (e.stat.isFile()) {
        await this.file(e.path, e.stat, to, at);
      } else {
        this.note(`${at}: ${kindOf(e.stat)} skipped (a volume gets no device nodes, sockets or FIFOs)`);
      }
    }
  }

  /** Sets the owner, mode (set-id and sticky bits too), xattrs and, when `times`, the times of the folder `dst` from `srcPath`. */
  async finishDir(srcPath: string, st: Stats, dst: string, at: string, times: boolean): Promise<void> {
    const fh = await fs.open(dst, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      await fh.chown(st.uid, st.gid);
      await fh.chmod(st.mode & 0o7777); // after chown, which clears set-id bits
      if (times) this.xattrs(srcPath, dst, at);
      if (times) await fh.utimes(st.atimeMs / 1000, st.mtimeMs / 1000);
    } finally {
      await fh.close();
    }
  }

  private async symlink(src: string, st: Stats, to: string, at: string): Promise<void> {
    const target = await fs.readlink(src); // data: never followed, here or later
    await fs.symlink(target, to);
    await fs.lchown(to, st.uid, st.gid);
    this.xattrs(src, to, at);
    await fs.lutimes(to, st.atimeMs / 1000, st.mtimeMs / 1000);
    this.symlinks++;
  }

  private async file(src: string, st: Stats, to: string, at: string): Promise<void> {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? this.linked.get(key) : undefined;
    if (first !== undefined) {
      await fs.link(first, to); // linkat without AT_SYMLINK_FOLLOW
      this.hardlinks++;
      return;
    }
    const input = await fs.open(src, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
    try {
      const ist = await input.stat();
      if (!ist.isFile() || ist.ino !== st.ino || ist.dev !== st.dev) throw badImageFile(this.image, at, 'changed while it was copied');
      const out = await fs.open(to, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        this.bytes += await copyChunks(input, out);
        await out.chown(st.uid, st.gid);
        await out.chmod(st.mode & 0o7777); // after chown, which clears set-id bits
        this.xattrs(src, to, at); // after chown, which clears security.capability
        await out.utimes(st.atimeMs / 1000, st.mtimeMs / 1000);
      } finally {
        await out.close();
      }
    } finally {
      await input.close();
    }
    if (st.nlink > 1) this.linked.set(key, to);
    this.files++;
  }

  /** Copies the xattrs of `src` to `dst` (neither followed), but overlayfs's own; one the destination refuses is noted. */
  private xattrs(src: string, dst: string, at: string): void {
    let names: string[];
    try {
      names = llistxattr(src);
    } catch (e) {
      const errno = errnoOf(e);
      if (errno !== 'EOPNOTSUPP' && errno !== 'ENOTSUP') this.note(`${at}: xattrs not read (${errno})`);
      return;
    }
    for (const name of names) {
      if (name.startsWith(OVERLAY_XATTR_PREFIX)) continue;
      try {
        const value = lgetxattr(src, name);
        if (value !== undefined) lsetxattr(dst, name, value);
      } catch (e) {
        this.note(`${at}: xattr ${name} not copied (${errnoOf(e)})`);
      }
    }
  }
}

function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'entry of unknown type';
}

/** Removes everything inside `dir` (not `dir` itself), never following a symlink. */
async function emptyFolder(dir: string): Promise<void> {
  for (const n of await fs.readdir(dir).catch(() => [] as string[])) await fs.rm(join(dir, n), { recursive: true, force: true });
}

/**
 * Copies the content the merged view of `layerDirs` (lowest first, absolute) shows in the folder
 * `pathInImage` (symlinks on the way resolved inside the view) into `destDir`, which must be an
 * existing EMPTY folder (the volume's data folder, just created): files with their bytes,
 * folders, symlinks as symlinks, files hardlinked in a layer as hardlinks, owners, modes with
 * set-id and sticky bits, access and modification times, and xattrs but overlayfs's
 * (`trusted.overlay.*`); whited-out entries and what opaque folders hide are not copied; device
 * nodes, sockets and FIFOs are skipped (noted). `destDir` itself then gets the owner and mode of
 * the image's folder (e.g. postgres's data folder: postgres, 0700), so the service can write its
 * volume. Returns false, copying nothing, when the image has no folder at `pathInImage`.
 *
 * When to call it is Docker's rule, the caller's to apply: a volume (named or anonymous, never a
 * bind mount or tmpfs) mounted at a path where the image has a folder gets the copy only when
 * the volume is empty (in practice: just created) and the mount is not `volume.nocopy: true`
 * (`nocopy` in the short syntax). A volume that already has content is never touched again.
 *
 * On a failure `destDir` is emptied again (so a retry copies afresh) and a UserError is thrown:
 * COPY_UP_DEST (destDir is not an empty real folder), BAD_IMAGE_FILE (the image is hostile or
 * broken), COPY_UP_FAILED (anything else: a full disk, a file system refusing an owner).
 */
export async function copyImageContent(layerDirs: readonly string[], pathInImage: string, destDir: string, image: string): Promise<CopyUpResult | false> {
  const src = lookupMerged(layerDirs, pathInImage, image);
  if (src?.kind !== 'dir') return false;
  let st: Stats;
  try {
    st = await fs.lstat(destDir);
  } catch (e) {
    throw new UserError('COPY_UP_DEST', `cannot copy ${pathInImage} of image ${image} into ${destDir}: ${errnoOf(e)}`, 'the volume folder must exist before the copy');
  }
  if (!st.isDirectory()) throw new UserError('COPY_UP_DEST', `cannot copy ${pathInImage} of image ${image} into ${destDir}: not a folder`, 'the volume folder must be a real folder, not a symlink');
  if ((await fs.readdir(destDir)).length > 0) {
    throw new UserError('COPY_UP_DEST', `cannot copy ${pathInImage} of image ${image} into ${destDir}: the folder is not empty`, 'a volume gets the image content only while it is empty');
  }
  const copier = new Copier(image);
  try {
    await copier.children(src, destDir, pathInImage);
    await copier.finishDir(src.dirs[0]!, src.stat, destDir, pathInImage, false);
  } catch (e) {
    await emptyFolder(destDir);
    if (e instanceof UserError) throw e;
    throw new UserError('COPY_UP_FAILED', `cannot copy ${pathInImage} of image ${image} into the volume folder ${destDir}: ${e instanceof Error ? e.message : String(e)}`,
      'free space or fix the volume folder, or mount the volume with `nocopy` to start it empty', { cause: e });
  }
  return { files: copier.files, dirs: copier.dirs, symlinks: copier.symlinks, hardlinks: copier.hardlinks, bytes: copier.bytes, skipped: copier.notes() };
}

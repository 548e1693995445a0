// ADD of a local tar archive (plain or gzip): unpacked into the destination folder, as Docker's
// `tar -x` into it, instead of copied. The archive is the user's context, but its entries are
// read as hostile: a name with `..` or an absolute one is refused, nothing is written through a
// symlink the archive made (a component that is one refuses the entry), a hardlink points only
// at an entry this archive wrote. Everything is written into the step's fresh layer folder, which
// only this build writes. bzip2 and xz, which Docker also unpacks, are refused with a hint.
import { constants as C, createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { UserError } from '../errors.js';
import { layerPath } from '../image/layer-path.js';

/** What `sniffArchive` found at the start of a file. */
export type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz' | undefined;

/** The kind of archive the first bytes of a file are, or undefined for anything else. */
export function sniffArchive(head: Buffer): ArchiveKind {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** How a folder the destination's path crosses is made in the layer: the image's own (its mode and owner), else 0755 root. */
export type FolderOf = (pathInImage: string) => { mode: number; uid: number; gid: number } | undefined;

/**
 * Unpacks the archive `file` (plain or gzip tar, `kind`) into the folder `dest` (absolute, in the
 * image) of the layer folder `layer`; `owner` (ADD --chown) replaces the entries' owners.
 * Returns the entries written. `what` names the source in errors.
 */
export async function unpackArchive(file: string, kind: 'tar' | 'gzip', layer: string, dest: string, folderOf: FolderOf, owner: { uid: number; gid: number } | undefined, what: string): Promise<number> {
  const bad = (why: string): UserError => new UserError('ADD_ARCHIVE_BAD', `ADD ${what}: ${why}`, 'fix the archive, or COPY it and unpack it in a RUN step');
  // The destination's folders, as the image has them (or new).
  let at = layer;
  let inImage = '';
  for (const part of dest.split('/').filter((p) => p !== '')) {
    at = join(at, part);
    inImage = `${inImage}/${part}`;
    await mkdirLike(at, folderOf(inImage));
  }
  const root = at;
  const made = new Set<string>(); // paths this archive wrote, relative to root
  let entries = 0;
  const extract = tar.extract();
  const input = createReadStream(file);
  const feeding = kind === 'gzip' ? pipeline(input, createGunzip(), extract) : pipeline(input, extract);
  feeding.catch(() => undefined); // awaited below; the entry loop sees the same failure
  try {
    for await (const entry of extract) {
      await unpackEntry(entry.header, entry as AsyncIterable<Buffer>);
      entry.resume(); // drain what was not read
    }
    await feeding;
  } catch (e) {
    extract.destroy();
    input.destroy();
    await feeding.catch(() => undefined);
    if (e instanceof UserError) throw e;
    throw bad(`cannot be unpacked (${e instanceof Error ? e.message : String(e)})`);
  }
  return entries;

  async function unpackEntry(header: tar.Header, content: AsyncIterable<Buffer>): Promise<void> {
    const p = layerPath(header.name);
    if (!p.ok) throw bad(`entry ${JSON.stringify(header.name)}: ${p.reason}`);
    if (p.components.length === 0) return; // the archive's `./`
    const rel = p.components.join('/');
    // Its folders: made 0755 (the --chown owner's, or root's) unless the archive made them; never a symlink on the way.
    let parent = root;
    for (const c of p.components.slice(0, -1)) {
      parent = join(parent, c);
      const st = await fs.lstat(parent).catch(() => undefined);
      if (st?.isSymbolicLink()) throw bad(`entry ${JSON.stringify(header.name)} lies through a symlink of the archive`);
      if (st === undefined) await mkdirLike(parent, { mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0 });
      else if (!st.isDirectory()) throw bad(`entry ${JSON.stringify(header.name)} lies under a file`);
    }
    const target = join(root, rel);
    const uid = owner?.uid ?? header.uid ?? 0;
    const gid = owner?.gid ?? header.gid ?? 0;
    const mode = (header.mode ?? 0o644) & 0o7777;
    const existing = await fs.lstat(target).catch(() => undefined);
    // The archive wins over what was there (a later entry of the same name too), except a folder over a folder.
    if (existing !== undefined && !(existing.isDirectory() && header.type === 'directory')) await fs.rm(target, { recursive: true, force: true });
    switch (header.type) {
      case 'directory':
        if (existing === undefined || !existing.isDirectory()) await fs.mkdir(target, { mode: 0o700 });
        await fs.lchown(target, uid, gid);
        await fs.chmod(target, mode);
        break;
      case 'file':
      case 'contiguous-file': {
        const out = await fs.open(target, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of content) await out.write(chunk);
          await out.chown(uid, gid);
          await out.chmod(mode); // after the chown, which clears set-id bits
        } finally {
          await out.close();
        }
        break;
      }
      case 'symlink':
        await fs.symlink(header.linkname ?? '', target);
        await fs.lchown(target, uid, gid);
        break;
      case 'link': {
        const to = layerPath(header.linkname ?? '');
        if (!to.ok || !made.has(to.components.join('/'))) throw bad(`hardlink ${JSON.stringify(header.name)} points at ${JSON.stringify(header.linkname)}, no file of the archive`);
        const source = join(root, to.components.join('/'));
        if (!(await fs.lstat(source)).isFile()) throw bad(`hardlink ${JSON.stringify(header.name)} points at no file`);
        await fs.link(source, target);
        break;
      }
      default:
        return; // devices, FIFOs: not unpacked
    }
    if (header.mtime !== undefined && header.type !== 'symlink' && header.type !== 'link') await fs.utimes(target, header.mtime, header.mtime).catch(() => undefined);
    made.add(rel);
    entries++;
  }
}

/** Makes the folder `path` (if it is not there) with `meta`'s mode and owner, or 0755 root. */
async function mkdirLike(path: string, meta: { mode: number; uid: number; gid: number } | undefined): Promise<void> {
  const st = await fs.lstat(path).catch(() => undefined);
  if (st !== undefined) return;
  await fs.mkdir(path, { mode: 0o700 });
  await fs.lchown(path, meta?.uid ?? 0, meta?.gid ?? 0);
  await fs.chmod(path, meta?.mode ?? 0o755);
}


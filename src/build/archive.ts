// ADD of a local tar archive (plain or gzip): unpacked into the destination folder, as Docker's
// `tar -x` into it, instead of copied. The archive is the user's context, but its entries are
// read as hostile: a name with `..` or an absolute one is refused, nothing is written through a
// symlink the archive made (a component that is one refuses the entry), a hardlink points only
// at an entry this archive wrote. Everything is written into the step's fresh layer folder, which
// only this build writes. bzip2 and xz, which Docker also unpacks, are refused with a hint.
import { constants as C, createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join, posix } from 'node:path';
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

/** What the image has at a path the unpacking makes a folder of: a folder (its mode and owner, kept in the layer), something else (a file, a symlink such as /bin -> usr/bin: refused), or nothing. */
export type FolderOf = (pathInImage: string) => { mode: number; uid: number; gid: number } | 'other' | undefined;

/** Whether a 512-byte block is a tar header: its checksum (the sum of its bytes, the checksum field as spaces) is the one it holds, as tar checks it. */
function tarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const written = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(written)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === written;
}

/** Whether `file` (plain or gzip) starts with a tar header once decompressed: a gzip that is no tar (a SQL dump) is copied, not unpacked, as BuildKit decides. */
export async function isTarArchive(file: string, kind: 'tar' | 'gzip'): Promise<boolean> {
  const input = createReadStream(file, kind === 'tar' ? { start: 0, end: 511 } : {});
  const stream = kind === 'gzip' ? input.pipe(createGunzip()) : input;
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= 512) break;
    }
  } catch {
    return false; // not gzip after all, or cut short
  } finally {
    input.destroy();
    stream.destroy();
  }
  return tarHeader(Buffer.concat(chunks).subarray(0, 512));
}

/**
 * Unpacks the archive `file` (plain or gzip tar, `kind`) into the folder `dest` (absolute, in the
 * image) of the layer folder `layer`; `owner` (ADD --chown) replaces the entries' owners.
 * Returns the entries written. `what` names the source in errors.
 */
export async function unpackArchive(file: string, kind: 'tar' | 'gzip', layer: string, dest: string, folderOf: FolderOf, owner: { uid: number; gid: number } | undefined, what: string): Promise<number> {
  const bad = (why: string): UserError => new UserError('ADD_ARCHIVE_BAD', `ADD ${what}: ${why}`, 'fix the archive, or COPY it and unpack it in a RUN step');
  // The destination's folders, as the image has them (or new); through nothing that is no folder in the image.
  const destParts = dest.split('/').filter((p) => p !== '');
  const root = join(layer, ...destParts);
  const destInImage = `/${destParts.join('/')}`;
  const folder = async (inImage: string, inLayer: string, fresh: { mode: number; uid: number; gid: number }, entry?: string): Promise<void> => {
    const image = inImage === '/' ? undefined : folderOf(inImage);
    if (image === 'other') {
      throw bad(`${entry === undefined ? 'the destination' : `entry ${JSON.stringify(entry)}`} goes through ${inImage}, which is no folder in the image (a file, or a symlink such as /bin -> usr/bin)`);
    }
    await makeFolder(inLayer, image ?? fresh);
  };
  {
    let at = layer;
    let inImage = '';
    for (const part of destParts) {
      at = join(at, part);
      inImage = `${inImage}/${part}`;
      await folder(inImage, at, { mode: 0o755, uid: 0, gid: 0 });
    }
  }
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
    // Its folders: the image's (mode and owner kept) or new ones (0755, the --chown owner's or
    // root's) unless the archive made them; never through a symlink, the archive's or the image's.
    let parent = root;
    let parentInImage = destInImage;
    for (const c of p.components.slice(0, -1)) {
      parent = join(parent, c);
      parentInImage = posix.join(parentInImage, c);
      const st = await fs.lstat(parent).catch(() => undefined);
      if (st?.isSymbolicLink()) throw bad(`entry ${JSON.stringify(header.name)} lies through a symlink of the archive`);
      if (st === undefined) await folder(parentInImage, parent, { mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0 }, header.name);
      else if (!st.isDirectory()) throw bad(`entry ${JSON.stringify(header.name)} lies under a file`);
    }
    const target = join(root, rel);
    const uid = owner?.uid ?? header.uid ?? 0;
    const gid = owner?.gid ?? header.gid ?? 0;
    const mode = (header.mode ?? 0o644) & 0o7777;
    const existing = await fs.lstat(target).catch(() => undefined);
    // The archive wins over what was there (a later entry of the same name too), except a folder over a folder.
    if (existing !== undefined && !(existing.isDirectory() && header.type === 'directory')) {
      await fs.rm(target, { recursive: true, force: true });
      for (const m of [...made]) if (m === rel || m.startsWith(`${rel}/`)) made.delete(m); // gone: no hardlink may name it now
    }
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
        // Each component looked at without following it: a folder the archive later replaced by a
        // symlink must not lead the link to a file outside the layer.
        let source = root;
        for (const [i, c] of to.components.entries()) {
          source = join(source, c);
          const st = await fs.lstat(source).catch(() => undefined);
          const last = i === to.components.length - 1;
          if (st === undefined || (last ? !st.isFile() : !st.isDirectory())) throw bad(`hardlink ${JSON.stringify(header.name)} points at ${JSON.stringify(header.linkname)}, no file of the archive`);
        }
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

/** Makes the folder `path` (if it is not there) with `meta`'s mode and owner, or 0755 root (the folders a layer's files go into: ADD's, WORKDIR's). */
export async function makeFolder(path: string, meta: { mode: number; uid: number; gid: number } | undefined): Promise<void> {
  const st = await fs.lstat(path).catch(() => undefined);
  if (st !== undefined) return;
  await fs.mkdir(path, { mode: 0o700 });
  await fs.lchown(path, meta?.uid ?? 0, meta?.gid ?? 0);
  await fs.chmod(path, meta?.mode ?? 0o755);
}


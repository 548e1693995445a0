// Unpacks one image layer (a tar, plain, gzip or zstd) into a directory overlayfs can use as a
// lower layer. The layer is hostile input: its digest and DiffID are checked while it streams,
// every entry name is refused if it is absolute or has `..`, and no entry is ever created
// through a symlink or as a hardlink to something outside the layer. The layer is unpacked into
// `${dir}.partial-<random>` and renamed to `dir` only when everything checked, so a failed or
// interrupted unpack never leaves a half layer at `dir`.
//
// Why the component-by-component lstat walk below is race-free without openat(2): the partial
// directory is made here (mkdir, fresh random name) inside a parent only this user can write
// (checked first: owned by us, not group/other-writable), and only this function, one entry at a
// time, writes under it until the rename. So between an lstat that found a real directory and the
// next call that uses it, nothing but this code could have replaced it with a symlink; and the
// last component is created with O_EXCL|O_NOFOLLOW (files), mkdir, symlink, link or mknod, none
// of which follows a symlink in the last component.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as fsSync from 'node:fs';
import { constants as C } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecoder } from 'fzstd';
import * as tar from 'tar-stream';
import { UserError } from '../errors.js';
import { lsetxattr, mknodChar } from '../sys/xattr.js';
import { layerPath, whiteoutKind } from './layer-path.js';

/** What to unpack: where, the layer's media type, its blob digest and its DiffID (the config's). */
export interface UnpackOptions {
  /** Final directory of the layer; must not exist yet; its parent must be writable by us only. */
  dir: string;
  /** The manifest's media type of the layer (OCI or Docker; tar, tar+gzip, tar+zstd). */
  mediaType: string;
  /** The blob's digest (`sha256:…`), of the compressed bytes. */
  digest: string;
  /** The DiffID from the image config (`sha256:…`), of the uncompressed tar. */
  diffId: string;
}

/** What an unpack did. */
export interface UnpackResult {
  dir: string;
  /** Compressed bytes read and uncompressed tar bytes. */
  compressedSize: number;
  size: number;
  /** Entries written (files, directories, links, whiteouts). */
  entries: number;
  /** Entries skipped and why (device nodes, FIFOs, unknown types), one line each. */
  notes: string[];
  /** True when another unpack had already put the layer at `dir` (this one was discarded). */
  existed: boolean;
}

type Compression = 'none' | 'gzip' | 'zstd';

/** The compression a layer media type names, or undefined for one this unpacker cannot read. */
export function layerCompression(mediaType: string): Compression | undefined {
  const m = mediaType.trim().toLowerCase();
  const isLayer =
    m.startsWith('application/vnd.oci.image.layer.') || m.startsWith('application/vnd.docker.image.rootfs.');
  if (!isLayer) return undefined;
  if (m.endsWith('+gzip') || m.endsWith('.tar.gzip')) return 'gzip';
  if (m.endsWith('+zstd') || m.endsWith('.tar.zstd')) return 'zstd';
  if (m.endsWith('.tar') || m.endsWith('diff.tar')) return 'none';
  return undefined;
}

const DIGEST = /^(sha256|sha512):([a-f0-9]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

function parseDigest(what: string, value: string, layer: string): { algorithm: string; hex: string } {
  const m = DIGEST.exec(value);
  if (!m || m[2]!.length !== HEX_LENGTH[m[1]!]) {
    throw new UserError('LAYER_DIGEST_INVALID', `layer ${layer}: ${what} "${value}" is not a sha256 or sha512 digest`, 'the image manifest or config is malformed');
  }
  return { algorithm: m[1]!, hex: m[2]! };
}

/** A pass-through stream that hashes and counts what flows through it. */
class Hasher extends Transform {
  readonly hash: Hash;
  bytes = 0;
  constructor(algorithm: string) {
    super();
    this.hash = createHash(algorithm);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Streaming zstd decompression (Node 20's zlib has none) over fzstd's pure-JS decoder. */
class ZstdDecompress extends Transform {
  private readonly decoder = new ZstdDecoder((data) => {
    this.push(Buffer.from(data));
  });
  private sawInput = false;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (chunk.length) this.sawInput = true;
      this.decoder.push(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      if (!this.sawInput) throw new Error('empty zstd stream');
      this.decoder.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

/** zlib's output chunk for gzip layers: its 16 KiB default makes one thread-pool round trip per 16 KiB. */
const GUNZIP_CHUNK = 256 * 1024;

function decompressor(c: Compression): Transform {
  if (c === 'gzip') return createGunzip({ chunkSize: GUNZIP_CHUNK });
  if (c === 'zstd') return new ZstdDecompress();
  return new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) });
}

const HINT_HOSTILE = 'the layer is malformed or was crafted to write outside its directory; do not use this image';

/** Refuses entry `name` of layer `digest` as a path escape. */
function escape(digest: string, name: string, reason: string): UserError {
  return new UserError('LAYER_PATH_ESCAPE', `layer ${digest}: entry "${name}" refused: ${reason}`, HINT_HOSTILE);
}

/** Checks that the parent of `dir` is ours alone (the premise of the race-free walk above). */
async function checkParent(dir: string): Promise<void> {
  const parent = dirname(dir);
  const st = await fs.lstat(parent);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new UserError(
      'LAYER_DIR_UNSAFE',
      `cannot unpack a layer into ${parent}: it must be a directory owned by uid ${uid} that no group or other user can write`,
      `chmod go-w ${parent}`,
    );
  }
}

/** Per-entry metadata the header carries (pax overrides the ustar fields tar-stream leaves alone). */
function metadata(h: tar.Header): { uid: number; gid: number; mode: number; mtime: Date; xattrs: [string, Buffer][]; lossy: string[] } {
  const pax = (h.pax ?? {}) as Record<string, string>;
  const num = (key: string, fallback: number): number => {
    const v = pax[key];
    if (v === undefined) return fallback;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  const mtimeSeconds = num('mtime', (h.mtime?.getTime() ?? 0) / 1000);
  const xattrs: [string, Buffer][] = [];
  const lossy: string[] = [];
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith('SCHILY.xattr.')) continue;
    const name = key.slice('SCHILY.xattr.'.length);
    // tar-stream decodes pax values as UTF-8: a value that was not UTF-8 (binary, such as
    // security.capability) arrives with U+FFFD and cannot be restored byte for byte.
    if (value.includes('\ufffd')) lossy.push(name);
    else xattrs.push([name, Buffer.from(value, 'utf8')]);
  }
  return { uid: Math.trunc(num('uid', h.uid ?? 0)), gid: Math.trunc(num('gid', h.gid ?? 0)), mode: (h.mode ?? 0o644) & 0o7777, mtime: new Date(mtimeSeconds * 1000), xattrs, lossy };
}

/** lstat that returns undefined for a missing path. */
function lstatOrNone(path: string): fsSync.Stats | undefined {
  return fsSync.lstatSync(path, { throwIfNoEntry: false });
}

/**
 * The unpacker of one layer into one fresh directory (see the file comment). Its file-system
 * calls are synchronous: a layer is thousands of small entries, and each asynchronous call costs
 * a thread-pool round trip (futex and eventfd wake-ups) several times the call itself.
 */
class LayerWriter {
  readonly notes: string[] = [];
  entries = 0;
  private readonly dirTimes: [string, Date][] = [];
  /**
   * Paths this writer made or lstat'ed as real directories: a parent walk skips their lstat.
   * Only this writer changes the tree (file comment), and clear() forgets a directory it removes.
   */
  private readonly dirs = new Set<string>();
  constructor(
    private readonly root: string,
    private readonly digest: string,
  ) {}

  /** Walks `components` but the last from the root, making missing directories (0755); refuses a symlink or non-directory on the way. */
  private parent(name: string, components: string[]): string {
    let p = this.root;
    for (const c of components.slice(0, -1)) {
      p = join(p, c);
      if (this.dirs.has(p)) continue;
      const st = lstatOrNone(p);
      if (!st) fsSync.mkdirSync(p, 0o755);
      else if (st.isSymbolicLink()) throw escape(this.digest, name, `its parent "${c}" is a symlink (an entry is never written through one)`);
      else if (!st.isDirectory()) throw escape(this.digest, name, `its parent "${c}" is not a directory`);
      this.dirs.add(p);
    }
    return p;
  }

  /** The absolute path `components` name inside the layer, walked safely; the last component may not exist. */
  private target(name: string, components: string[]): string {
    const parent = this.parent(name, components);
    return join(parent, components[components.length - 1]!);
  }

  /** Removes whatever is at `path` (a later entry replaces an earlier one), keeping a directory when `keepDir`. */
  private clear(path: string, keepDir: boolean): boolean {
    if (keepDir && this.dirs.has(path)) return true;
    const st = lstatOrNone(path);
    if (!st) return false;
    if (st.isDirectory()) {
      if (keepDir) return true;
      fsSync.rmSync(path, { recursive: true, force: true });
      this.forgetDirs(path);
    } else fsSync.unlinkSync(path);
    return false;
  }

  /** Forgets `path` and every directory under it (they were removed). */
  private forgetDirs(path: string): void {
    this.dirs.delete(path);
    const prefix = `${path}/`;
    for (const d of this.dirs) if (d.startsWith(prefix)) this.dirs.delete(d);
  }

  private finish(path: string, m: ReturnType<typeof metadata>, kind: 'file' | 'dir' | 'symlink', name: string): void {
    fsSync.lchownSync(path, m.uid, m.gid);
    if (kind !== 'symlink') fsSync.chmodSync(path, m.mode); // after chown, which clears set-id bits
    for (const [x, value] of m.xattrs) lsetxattr(path, x, value);
    for (const x of m.lossy) this.notes.push(`${name}: xattr ${x} skipped (its value is not UTF-8 and the tar parser cannot keep it)`);
    if (kind === 'dir') this.dirTimes.push([path, m.mtime]);
    else fsSync.lutimesSync(path, m.mtime, m.mtime);
  }

  /** Writes one entry (its content stream must be drained by the caller if unused). */
  async write(h: tar.Header, content: AsyncIterable<Uint8Array>): Promise<void> {
    const name = h.name;
    const parsed = layerPath(name);
    if (!parsed.ok) throw escape(this.digest, name, parsed.reason);
    const comps = parsed.components;
    const m = metadata(h);
    const type = h.type ?? 'file';

    if (comps.length === 0) {
      if (type !== 'directory') throw escape(this.digest, name, 'names the layer root but is not a directory');
      this.finish(this.root, m, 'dir', name);
      return;
    }
    const base = comps[comps.length - 1]!;
    const wh = whiteoutKind(base);
    if (wh.kind === 'opaque') {
      const dir = dirname(this.target(name, [...comps.slice(0, -1), 'x']));
      lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
      this.entries++;
      return;
    }
    if (wh.kind === 'meta') {
      this.notes.push(`${name}: AUFS meta entry skipped`);
      return;
    }
    if (wh.kind === 'whiteout') {
      if (wh.name === '' || wh.name === '.' || wh.name === '..') throw escape(this.digest, name, 'a whiteout of no valid name');
      const path = this.target(name, [...comps.slice(0, -1), wh.name]);
      this.clear(path, false);
      mknodChar(path, 0, 0, 0);
      this.entries++;
      return;
    }

    switch (type) {
      case 'file':
      case 'contiguous-file': {
        const path = this.target(name, comps);
        this.clear(path, false);
        const fd = fsSync.openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of content) {
            for (let off = 0; off < chunk.length; ) off += fsSync.writeSync(fd, chunk, off, chunk.length - off);
          }
        } finally {
          fsSync.closeSync(fd);
        }
        this.finish(path, m, 'file', name);
        break;
      }
      case 'directory': {
        const path = this.target(name, comps);
        if (!this.clear(path, true)) fsSync.mkdirSync(path, 0o700);
        this.dirs.add(path);
        this.finish(path, m, 'dir', name);
        break;
      }
      case 'symlink': {
        // The link's text is data, never followed by this unpacker; overlayfs resolves it
        // inside the container's root.
        const path = this.target(name, comps);
        this.clear(path, false);
        fsSync.symlinkSync(h.linkname ?? '', path);
        this.finish(path, m, 'symlink', name);
        break;
      }
      case 'link': {
        const link = layerPath(h.linkname ?? '');
        if (!link.ok) throw escape(this.digest, name, `a hardlink to "${h.linkname}", ${link.reason}`);
        if (link.components.length === 0) throw escape(this.digest, name, 'a hardlink to the layer root');
        const from = this.target(name, link.components);
        const st = lstatOrNone(from);
        if (!st) throw escape(this.digest, name, `a hardlink to "${h.linkname}", which is not in the layer (yet)`);
        if (st.isDirectory()) throw escape(this.digest, name, `a hardlink to the directory "${h.linkname}"`);
        const path = this.target(name, comps);
        if (path === from) return;
        this.clear(path, false);
        fsSync.linkSync(from, path); // linkat without AT_SYMLINK_FOLLOW: a symlink target is linked itself
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.notes.push(`${name}: ${type} skipped (the unpacker makes no device nodes or FIFOs)`);
        return;
      default:
        this.notes.push(`${name}: entry of unknown type (${String(h.type)}) skipped`);
        return;
    }
    this.entries++;
  }

  /** Sets directory mtimes last (writing into a directory changes its mtime). */
  close(): void {
    for (const [path, t] of this.dirTimes) fsSync.lutimesSync(path, t, t);
  }
}

/** Wraps a failure that is not already a UserError as one naming the layer (hostile input never crashes). */
function asUserError(e: unknown, digest: string, entry: string | undefined): UserError {
  if (e instanceof UserError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const where = entry === undefined ? '' : ` at entry "${entry}"`;
  return new UserError('LAYER_CORRUPT', `layer ${digest}: cannot unpack${where}: ${msg}`, 'the layer blob is truncated or corrupt; pull it again', { cause: e });
}

/**
 * Unpacks the layer blob `stream` into `dir`, checking its digest and DiffID while it streams.
 * Throws a UserError (LAYER_PATH_ESCAPE, LAYER_DIGEST_MISMATCH, LAYER_DIFFID_MISMATCH,
 * LAYER_CORRUPT, LAYER_MEDIA_TYPE) and leaves nothing at `dir` on any failure. Needs root.
 */
export async function unpackLayer(stream: Readable, opts: UnpackOptions): Promise<UnpackResult> {
  const { dir, digest, diffId, mediaType } = opts;
  const want = parseDigest('digest', digest, digest);
  const wantDiff = parseDigest('DiffID', diffId, digest);
  const compression = layerCompression(mediaType);
  if (!compression) {
    stream.destroy();
    throw new UserError('LAYER_MEDIA_TYPE', `layer ${digest}: media type "${mediaType}" is not a tar, tar+gzip or tar+zstd layer`, 'stack unpacks OCI and Docker tar layers only');
  }
  try {
    await checkParent(dir);
  } catch (e) {
    stream.destroy();
    throw e;
  }
  const partial = `${dir}.partial-${randomBytes(6).toString('hex')}`;
  await fs.mkdir(partial, 0o700);
  let current: string | undefined;
  try {
    await fs.chmod(partial, 0o755); // the default root mode; a `./` entry may change it
    const compressed = new Hasher(want.algorithm);
    const uncompressed = new Hasher(wantDiff.algorithm);
    const extract = tar.extract();
    const writer = new LayerWriter(partial, digest);
    const feeding = pipeline(stream, compressed, decompressor(compression), uncompressed, extract);
    feeding.catch(() => undefined); // awaited below; the entry loop sees the same failure
    try {
      for await (const entry of extract) {
        current = entry.header.name;
        await writer.write(entry.header, entry as AsyncIterable<Uint8Array>);
        entry.resume(); // drain what write() did not read
        current = undefined;
      }
    } catch (e) {
      extract.destroy();
      stream.destroy();
      await feeding.catch(() => undefined);
      throw e;
    }
    await feeding;
    writer.close();
    const gotDigest = compressed.hash.digest('hex');
    if (gotDigest !== want.hex) {
      throw new UserError('LAYER_DIGEST_MISMATCH', `layer ${digest}: the blob's digest is ${want.algorithm}:${gotDigest}`, 'the registry sent other bytes than the manifest names; pull again or report it to the registry');
    }
    const gotDiff = uncompressed.hash.digest('hex');
    if (gotDiff !== wantDiff.hex) {
      throw new UserError('LAYER_DIFFID_MISMATCH', `layer ${digest}: the uncompressed tar's digest is ${wantDiff.algorithm}:${gotDiff}, the image config says ${diffId}`, 'the image config does not match its layers; the image is broken');
    }
    let existed = false;
    try {
      await fs.rename(partial, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      existed = true; // another unpack of the same layer won; its copy is as good as ours
      await fs.rm(partial, { recursive: true, force: true });
    }
    return { dir, compressedSize: compressed.bytes, size: uncompressed.bytes, entries: writer.entries, notes: writer.notes, existed };
  } catch (e) {
    await fs.rm(partial, { recursive: true, force: true });
    throw asUserError(e, digest, current);
  }
}

// A built layer's tar and DiffID. A layer folder is in overlayfs format (a RUN step's upper
// folder, or the folder a COPY wrote): a whiteout is a character device 0/0, an opaque folder
// has the xattr trusted.overlay.opaque=y. Its OCI tar is written deterministically, so the
// same folder always gives the same bytes and so the same DiffID:
//
// - entries depth first, each folder's children in byte order of their names in the tar (a
//   whiteout sorts as `.wh.NAME`), a folder before what it holds, the opaque marker
//   `.wh..wh..opq` first in its folder; names relative, no `./`, folders with a trailing `/`;
//   the layer's root folder itself is no entry (as Docker's layers);
// - ustar headers as GNU tar and Go's archive/tar write them (octal fields NUL-terminated,
//   uname/gname empty, devmajor/devminor zero), and a PAX header (named
//   `<dir>/PaxHeaders.0/<name>`, mode 0644, owner 0:0, mtime 0) only for what ustar cannot
//   hold: a name or link target longer than its field or not ASCII, a size of 8 GiB or more, an
//   owner above 2097151, a modification time before 1970 or after 2242, and the
//   security.capability xattr (`SCHILY.xattr.security.capability`, its bytes as they are);
// - mode bits with set-id and sticky bits, numeric owners, the modification time in whole
//   seconds (no atime or ctime); a whiteout and an opaque marker are mode 0644, owner 0:0 and
//   their folder's mtime (so a layer unpacked again, whose whiteout devices are new, gives the
//   same tar); a file with several names in the layer is stored once, its later names as
//   hardlink entries to the first (whiteouts excepted: overlayfs links them to one inode);
// - the archive ends with two zero blocks (no padding to a 10 KiB record).
//
// The tar is written by this file rather than tar-stream's pack, which can store no binary PAX
// value (security.capability), turns a mode of 0 into 0644 and writes a negative mtime as
// garbage. A socket is left out (noted). Nothing is ever followed: symlinks are read as links,
// files are opened with O_NOFOLLOW and checked to be the file the walk found. Files are read
// 1 MiB at a time; memory does not grow with their size.
//
// An overlay upper folder with a redirected folder (trusted.overlay.redirect) or a metadata-only
// copy-up (trusted.overlay.metacopy) is not self-contained and is refused: a RUN step's overlay
// must be mounted with redirect_dir=off and metacopy=off.
import { createHash } from 'node:crypto';
import * as fsSync from 'node:fs';
import { constants as C, type BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KernelError, UserError } from '../errors.js';
import { llistxattr } from '../sys/xattr-list.js';
import { lgetxattr } from '../sys/xattr.js';

const BLOCK = 512;
const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(2 * BLOCK);

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const CAPABILITY_XATTR = 'security.capability';
/** Overlay xattrs whose entry depends on a lower layer: such a folder is no layer on its own. */
const UNSELF_CONTAINED: Record<string, string> = {
  'trusted.overlay.redirect': 'a renamed folder (redirect_dir)',
  'trusted.overlay.metacopy': 'a metadata-only copy-up (metacopy)',
};

/** ustar typeflags. */
const TYPE = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6', pax: 'x' } as const;
type TypeFlag = (typeof TYPE)[keyof typeof TYPE];

/** One tar header's content. */
interface Header {
  name: string;
  mode: number;
  uid: bigint;
  gid: bigint;
  size: bigint;
  mtime: bigint;
  type: TypeFlag;
  linkname: string;
  devmajor: bigint;
  devminor: bigint;
  /** security.capability's value, stored as a PAX record. */
  capability?: Buffer;
}

const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);
/** `value` fits an octal field of `len` bytes (len - 1 digits and a NUL). */
const fitsOctal = (value: bigint, len: number): boolean => value >= 0n && value < 8n ** BigInt(len - 1);

/** Writes `value` as len - 1 zero-padded octal digits; the field's last byte stays NUL. */
function octal(buf: Buffer, off: number, len: number, value: bigint): void {
  buf.write(value.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
}

/** The ustar split of an ASCII `name` into prefix (≤ 155) and name (≤ 100), as GNU tar and Go split it, or undefined. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: '', name };
  let length = name.length;
  if (length > 156) length = 156;
  else if (name.endsWith('/')) length--;
  const i = name.lastIndexOf('/', length - 1);
  const rest = name.length - i - 1;
  if (i <= 0 || i > 155 || rest === 0 || rest > 100) return undefined;
  return { prefix: name.slice(0, i), name: name.slice(i + 1) };
}

/** A field's stand-in when the real value is in the PAX header: ASCII, cut to the field. */
function fieldText(s: string, len: number): string {
  return s.replace(/[^\x00-\x7f]/g, '_').slice(0, len);
}

/** One 512-byte ustar header block. */
function ustarBlock(h: { name: string; prefix: string; mode: number; uid: bigint; gid: bigint; size: bigint; mtime: bigint; type: TypeFlag; linkname: string; devmajor: bigint; devminor: bigint }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'latin1');
  octal(b, 100, 8, BigInt(h.mode & 0o7777));
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write(h.type, 156, 1, 'latin1');
  b.write(h.linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  b.write(h.prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156); // the checksum is summed with its own field as spaces
  let sum = 0;
  for (const byte of b) sum += byte;
  b.fill(0, 148, 156);
  octal(b, 148, 7, BigInt(sum));
  b[155] = 0x20;
  return b;
}

/** One PAX record, `<length> <key>=<value>\n`, its length counting its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let digits = String(body.length).length;
  while (String(body.length + digits).length !== digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits)), body]);
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
function padding(size: bigint): Buffer {
  const rest = Number(size % BigInt(BLOCK));
  return rest === 0 ? Buffer.alloc(0) : ZEROS.subarray(0, BLOCK - rest);
}

/** The header blocks of one entry: a PAX header first when ustar cannot hold everything. */
function headerBlocks(h: Header): Buffer[] {
  const pax: [string, Buffer][] = [];
  const split = splitName(h.name);
  if (!split) pax.push(['path', Buffer.from(h.name, 'utf8')]);
  const linkFits = isAscii(h.linkname) && h.linkname.length <= 100;
  if (!linkFits) pax.push(['linkpath', Buffer.from(h.linkname, 'utf8')]);
  const num = (key: string, value: bigint, len: number): bigint => {
    if (fitsOctal(value, len)) return value;
    pax.push([key, Buffer.from(value.toString(10))]);
    return 0n;
  };
  const size = num('size', h.size, 12);
  const uid = num('uid', h.uid, 8);
  const gid = num('gid', h.gid, 8);
  const mtime = num('mtime', h.mtime, 12);
  if (!fitsOctal(h.devmajor, 8) || !fitsOctal(h.devminor, 8)) {
    throw new UserError('LAYER_ENTRY_UNSUPPORTED', `layer entry "${h.name}": device number ${h.devmajor}:${h.devminor} does not fit a tar header`, 'remove the device node from the image; /dev is made when a container starts');
  }
  if (h.capability) pax.push([`SCHILY.xattr.${CAPABILITY_XATTR}`, h.capability]);
  const main = ustarBlock({
    name: split ? split.name : fieldText(h.name, 100),
    prefix: split ? split.prefix : '',
    mode: h.mode,
    uid,
    gid,
    size,
    mtime,
    type: h.type,
    linkname: linkFits ? h.linkname : fieldText(h.linkname, 100),
    devmajor: h.devmajor,
    devminor: h.devminor,
  });
  if (pax.length === 0) return [main];
  pax.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const data = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const trimmed = h.name.replace(/\/$/, '');
  const slash = trimmed.lastIndexOf('/');
  const paxName = fieldText(`${trimmed.slice(0, slash + 1)}PaxHeaders.0/${trimmed.slice(slash + 1)}`, 100);
  const paxHeader = ustarBlock({ name: paxName, prefix: '', mode: 0o644, uid: 0n, gid: 0n, size: BigInt(data.length), mtime: 0n, type: TYPE.pax, linkname: '', devmajor: 0n, devminor: 0n });
  return [paxHeader, data, padding(BigInt(data.length)), main].filter((b) => b.length > 0);
}

/** Seconds since the epoch, rounded down (a time before 1970 too). */
function seconds(ns: bigint): bigint {
  const s = ns / 1_000_000_000n;
  return ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s;
}

/** glibc's major()/minor() of a device number. */
function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn),
    minor: (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn),
  };
}

function errnoOf(e: unknown): string {
  if (e instanceof KernelError) return e.errno;
  return (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);
}

/** The xattrs of `path` this writer looks at: the opaque marker, security.capability; refuses a folder that depends on a lower layer. */
function xattrsOf(path: string, rel: string): { opaque: boolean; capability?: Buffer } {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'EOPNOTSUPP' || errno === 'ENOTSUP') return { opaque: false };
    throw e;
  }
  const out: { opaque: boolean; capability?: Buffer } = { opaque: false };
  for (const name of names) {
    const why = UNSELF_CONTAINED[name];
    if (why) {
      throw new UserError('LAYER_OVERLAY_UNSUPPORTED', `layer folder entry "${rel}" is ${why}, whose content is in a lower layer`,
        'mount the step\'s overlay with redirect_dir=off,metacopy=off so its upper folder is a layer on its own');
    }
    if (name === OPAQUE_XATTR) out.opaque = lgetxattr(path, name)?.toString('latin1') === 'y';
    else if (name === CAPABILITY_XATTR) {
      const value = lgetxattr(path, name);
      if (value !== undefined) out.capability = value;
    }
  }
  return out;
}

/** The names in folder `abs`; a name that is not UTF-8 cannot be written to the tar faithfully and is refused. */
function readNames(abs: string, relDir: string): string[] {
  const raw = fsSync.readdirSync(abs, { encoding: 'buffer' });
  return raw.map((b) => {
    const s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) {
      throw new UserError('LAYER_NAME_NOT_UTF8', `layer folder ${relDir === '' ? '(root)' : `"${relDir}"`} holds a name that is not UTF-8 (${JSON.stringify(s)})`,
        'rename the file in the step that made it; stack writes layer names as UTF-8');
    }
    return s;
  });
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** A child of a folder, as the walk met it. */
interface Child {
  /** Its name in the folder, and the name its entry has in the tar (`.wh.NAME` for a whiteout). */
  name: string;
  tarName: string;
  st: BigIntStats;
  whiteout: boolean;
}

/** The tar of the layer folder `dir`, block by block (see the file comment). */
async function* tarBlocks(dir: string, notes: string[]): AsyncGenerator<Buffer> {
  const linked = new Map<string, string>();

  function* opaqueMarker(relDir: string, st: BigIntStats): Generator<Buffer> {
    yield* headerBlocks({
      name: `${relDir}${OPAQUE_MARKER}`,
      mode: 0o644,
      uid: 0n,
      gid: 0n,
      size: 0n,
      mtime: seconds(st.mtimeNs),
      type: TYPE.file,
      linkname: '',
      devmajor: 0n,
      devminor: 0n,
    });
  }

  async function* fileContent(path: string, rel: string, st: BigIntStats): AsyncGenerator<Buffer> {
    const changed = (): UserError =>
      new UserError('LAYER_CHANGED', `layer file "${rel}" changed while it was read`, 'nothing may write the layer folder while its digest is taken; build again');
    const fh = await fs.open(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
    try {
      const ist = await fh.stat({ bigint: true });
      if (!ist.isFile() || ist.ino !== st.ino || ist.dev !== st.dev || ist.size !== st.size) throw changed();
      let left = st.size;
      while (left > 0n) {
        const want = left < BigInt(CHUNK) ? Number(left) : CHUNK;
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, null);
          if (bytesRead === 0) throw changed();
          got += bytesRead;
        }
        left -= BigInt(want);
        yield buf;
      }
      const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, null);
      if (bytesRead !== 0) throw changed();
    } finally {
      await fh.close();
    }
    const pad = padding(st.size);
    if (pad.length > 0) yield pad;
  }

  async function* folder(abs: string, relDir: string, dirStat: BigIntStats): AsyncGenerator<Buffer> {
    const children: Child[] = [];
    for (const name of readNames(abs, relDir)) {
      const st = fsSync.lstatSync(join(abs, name), { bigint: true });
      const whiteout = st.isCharacterDevice() && st.rdev === 0n;
      if (!whiteout && name.startsWith(WHITEOUT_PREFIX)) {
        throw new UserError('LAYER_RESERVED_NAME', `layer folder entry "${relDir}${name}": names starting with ${WHITEOUT_PREFIX} are whiteouts in an image layer`,
          `rename the file in the step that made it; an OCI layer cannot hold a file named ${WHITEOUT_PREFIX}*`);
      }
      children.push({ name, tarName: whiteout ? `${WHITEOUT_PREFIX}${name}` : name, st, whiteout });
    }
    children.sort((a, b) => byteOrder(a.tarName, b.tarName));
    for (const c of children) {
      const path = join(abs, c.name);
      const rel = `${relDir}${c.name}`;
      const st = c.st;
      const base = {
        mode: Number(st.mode) & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: 0n,
        mtime: seconds(st.mtimeNs),
        linkname: '',
        devmajor: 0n,
        devminor: 0n,
      };
      if (c.whiteout) {
        yield* headerBlocks({ ...base, name: `${relDir}${c.tarName}`, mode: 0o644, uid: 0n, gid: 0n, mtime: seconds(dirStat.mtimeNs), type: TYPE.file });
        continue;
      }
      if (st.isDirectory()) {
        const x = xattrsOf(path, rel);
        yield* headerBlocks({ ...base, name: `${rel}/`, type: TYPE.dir });
        if (x.opaque) yield* opaqueMarker(`${rel}/`, st);
        yield* folder(path, `${rel}/`, st);
        continue;
      }
      if (st.isSocket()) {
        notes.push(`${rel}: socket left out (a layer holds no sockets)`);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? linked.get(key) : undefined;
      if (first !== undefined) {
        yield* headerBlocks({ ...base, name: rel, type: TYPE.link, linkname: first });
        continue;
      }
      if (st.nlink > 1n) linked.set(key, rel);
      if (st.isFile()) {
        const x = xattrsOf(path, rel);
        yield* headerBlocks({ ...base, name: rel, type: TYPE.file, size: st.size, ...(x.capability ? { capability: x.capability } : {}) });
        yield* fileContent(path, rel, st);
      } else if (st.isSymbolicLink()) {
        yield* headerBlocks({ ...base, name: rel, type: TYPE.symlink, linkname: fsSync.readlinkSync(path, 'utf8') });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = deviceNumbers(st.rdev);
        yield* headerBlocks({ ...base, name: rel, type: st.isCharacterDevice() ? TYPE.char : TYPE.block, devmajor: major, devminor: minor });
      } else if (st.isFIFO()) {
        yield* headerBlocks({ ...base, name: rel, type: TYPE.fifo });
      } else {
        notes.push(`${rel}: entry of unknown type left out`);
      }
    }
  }

  const rootStat = fsSync.lstatSync(dir, { bigint: true });
  if (!rootStat.isDirectory()) {
    throw new UserError('LAYER_DIR_MISSING', `${dir} is not a folder`, 'a layer is made from a folder');
  }
  if (xattrsOf(dir, '.').opaque) yield* opaqueMarker('', rootStat);
  yield* folder(dir, '', rootStat);
  yield ZEROS;
}

/**
 * The tar of the layer folder `dir` as a byte stream, the very bytes layerDiffId hashes (for
 * `push` or `save`). Entries left out (sockets) are added to `notes`, one line each.
 */
export function layerTarStream(dir: string, notes: string[] = []): Readable {
  return Readable.from(tarBlocks(dir, notes), { objectMode: false });
}

/**
 * The DiffID of the layer folder `dir`: the sha256 of its uncompressed tar (layerTarStream),
 * with the tar's size in bytes and the entries left out (sockets), one line each.
 */
export async function layerDiffId(dir: string): Promise<{ diffId: string; size: number; notes: string[] }> {
  const notes: string[] = [];
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of tarBlocks(dir, notes)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size, notes };
}

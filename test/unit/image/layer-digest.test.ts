// The tar and DiffID of a built layer folder (src/image/layer-digest.ts), over real folders in
// a temporary folder: the same folder always gives the same bytes, any change to content or
// metadata gives another DiffID, the stream read back shows the entries in order with their
// types and modes, the ustar headers are byte for byte GNU tar's, and (as root) overlayfs's
// whiteouts and opaque folders become OCI's `.wh.` files, a capability becomes a PAX record,
// and the tar unpacks with the image store's own unpacker under the DiffID computed here.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { layerDiffId, layerTarStream } from '../../../src/image/layer-digest.js';
import { unpackLayer } from '../../../src/image/unpack.js';
import { lgetxattr, lsetxattr, mknodChar } from '../../../src/sys/xattr.js';
import { describeRoot, describeWith } from '../../harness/require.js';

const T = 1_700_000_000; // a fixed mtime, seconds

let work: string;
let n = 0;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'stack-layer-digest-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh folder in the work folder. */
function fresh(): string {
  const d = join(work, `l${n++}`);
  mkdirSync(d);
  return d;
}

/** Sets the mtime of each path (symlinks themselves) to T. */
function pin(root: string, ...paths: string[]): void {
  for (const p of paths) lutimesSync(join(root, p), T, T);
}

/** A small layer: a folder, files (one executable), a symlink, set times. */
function sample(): string {
  const d = fresh();
  mkdirSync(join(d, 'etc'));
  writeFileSync(join(d, 'etc/app.conf'), 'port=80\n');
  mkdirSync(join(d, 'usr/bin'), { recursive: true });
  writeFileSync(join(d, 'usr/bin/app'), '#!/bin/sh\necho hi\n');
  chmodSync(join(d, 'usr/bin/app'), 0o755);
  chmodSync(join(d, 'etc/app.conf'), 0o640);
  symlinkSync('../etc/app.conf', join(d, 'usr/app.conf'));
  pin(d, 'usr/app.conf', 'etc/app.conf', 'usr/bin/app', 'usr/bin', 'usr', 'etc');
  return d;
}

async function bytesOf(dir: string, notes?: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of layerTarStream(dir, notes)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Seen {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string | null;
  mtime: number;
  pax: Record<string, string>;
  body: string;
}

/** The entries of a tar, read back with tar-stream's extract. */
async function entriesOf(bytes: Buffer): Promise<Seen[]> {
  const out: Seen[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const e of extract) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
        linkname: h.linkname ?? null,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        pax: (h.pax ?? {}) as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      });
    }
  })();
  Readable.from([bytes]).pipe(extract);
  await done;
  return out;
}

describe('the tar of a layer folder', () => {
  it('is the same bytes each time, and its DiffID is their sha256 with their size', async () => {
    const d = sample();
    const a = await bytesOf(d);
    const b = await bytesOf(d);
    expect(a.equals(b)).toBe(true);
    const id = await layerDiffId(d);
    expect(id.diffId).toBe(`sha256:${createHash('sha256').update(a).digest('hex')}`);
    expect(id.size).toBe(a.length);
    expect(id.size % 512).toBe(0);
    expect(id.notes).toEqual([]);
    expect((await layerDiffId(d)).diffId).toBe(id.diffId);
  });

  it('lists entries depth first in byte order, folders with a trailing / before their content, with modes, owners, times and link targets', async () => {
    const d = sample();
    writeFileSync(join(d, 'etc/B'), 'upper case sorts first');
    writeFileSync(join(d, 'etc-x'), '- sorts before / but etc/ is a folder entry');
    pin(d, 'etc/B', 'etc-x', 'etc');
    const e = await entriesOf(await bytesOf(d));
    expect(e.map((x) => x.name)).toEqual(['etc/', 'etc/B', 'etc/app.conf', 'etc-x', 'usr/', 'usr/app.conf', 'usr/bin/', 'usr/bin/app']);
    const by = Object.fromEntries(e.map((x) => [x.name, x]));
    expect(by['etc/']).toMatchObject({ type: 'directory', mtime: T, size: 0 });
    expect(by['etc/app.conf']).toMatchObject({ type: 'file', mode: 0o640, size: 8, body: 'port=80\n', mtime: T });
    expect(by['usr/bin/app']).toMatchObject({ type: 'file', mode: 0o755 });
    expect(by['usr/app.conf']).toMatchObject({ type: 'symlink', linkname: '../etc/app.conf', size: 0 });
    const uid = process.getuid!();
    for (const x of e) expect(x.uid).toBe(uid);
    for (const x of e) expect(x.pax).toEqual({});
  });

  it('changes its DiffID with a changed byte, mode, mtime, an added empty folder or a changed symlink target', async () => {
    const base = (await layerDiffId(sample())).diffId;
    const variants: [string, (d: string) => void][] = [
      ['a byte', (d) => { writeFileSync(join(d, 'etc/app.conf'), 'port=81\n'); pin(d, 'etc/app.conf'); }],
      ['a mode', (d) => chmodSync(join(d, 'etc/app.conf'), 0o644)],
      ['a set-id bit', (d) => chmodSync(join(d, 'usr/bin/app'), 0o4755)],
      ['an mtime', (d) => utimesSync(join(d, 'etc/app.conf'), T, T + 1)],
      ['an empty folder', (d) => { mkdirSync(join(d, 'etc/empty')); pin(d, 'etc/empty', 'etc'); }],
      ['a symlink target', (d) => { rmSync(join(d, 'usr/app.conf')); symlinkSync('/etc/app.conf', join(d, 'usr/app.conf')); pin(d, 'usr/app.conf', 'usr'); }],
    ];
    const seen = new Set([base]);
    for (const [what, change] of variants) {
      const d = sample();
      expect((await layerDiffId(d)).diffId, `unchanged before ${what}`).toBe(base);
      change(d);
      const id = (await layerDiffId(d)).diffId;
      expect(seen.has(id), `${what} changes the DiffID`).toBe(false);
      seen.add(id);
    }
  });

  it('stores a file with two names once and its second name as a hardlink to the first', async () => {
    const d = fresh();
    writeFileSync(join(d, 'a'), 'shared');
    linkSync(join(d, 'a'), join(d, 'b'));
    const e = await entriesOf(await bytesOf(d));
    expect(e.map((x) => [x.name, x.type, x.size, x.linkname])).toEqual([
      ['a', 'file', 6, null],
      ['b', 'link', 0, 'a'],
    ]);
  });

  it('writes long names in the ustar prefix, and PAX records only for what ustar cannot hold', async () => {
    const d = fresh();
    const mid = `${'m'.repeat(90)}/${'n'.repeat(50)}`; // 141 bytes: prefix + name
    mkdirSync(join(d, mid), { recursive: true });
    writeFileSync(join(d, mid, 'f.txt'), 'x');
    const long = ['p'.repeat(120), 'q'.repeat(120), 'r'.repeat(120)].join('/'); // no ustar split possible
    mkdirSync(join(d, long), { recursive: true });
    writeFileSync(join(d, long, 'deep.txt'), 'deep');
    writeFileSync(join(d, 'naïve.txt'), 'not ascii');
    symlinkSync('t'.repeat(150), join(d, 'longlink'));
    writeFileSync(join(d, 'old'), 'before 1970');
    execFileSync('touch', ['-d', '@-100', join(d, 'old')]); // Node's utimes takes no time before 1970
    const bytes = await bytesOf(d);
    const e = await entriesOf(bytes);
    const by = Object.fromEntries(e.map((x) => [x.name, x]));
    expect(by[`${mid}/f.txt`]?.pax).toEqual({});
    expect(by[`${long}/deep.txt`]?.pax).toEqual({ path: `${long}/deep.txt` });
    expect(by[`${long}/deep.txt`]?.body).toBe('deep');
    expect(by['naïve.txt']?.pax).toEqual({ path: 'naïve.txt' });
    expect(by['longlink']).toMatchObject({ type: 'symlink', linkname: 't'.repeat(150), pax: { linkpath: 't'.repeat(150) } });
    expect(by['old']?.pax).toEqual({ mtime: '-100' });
    // GNU tar reads the same names.
    const listed = execFileSync('tar', ['-tf', '-'], { input: bytes }).toString().trim().split('\n');
    expect(listed).toEqual(e.map((x) => x.name));
  });

  it('leaves out a socket, noting it', async () => {
    const d = fresh();
    writeFileSync(join(d, 'keep'), 'k');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(d, 'sock'), resolve));
    try {
      const notes: string[] = [];
      const e = await entriesOf(await bytesOf(d, notes));
      expect(e.map((x) => x.name)).toEqual(['keep']);
      expect(notes).toEqual(['sock: socket left out (a layer holds no sockets)']);
      expect((await layerDiffId(d)).notes).toEqual(notes);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a file whose name starts with .wh. (an OCI layer reads it as a whiteout)', async () => {
    const d = fresh();
    writeFileSync(join(d, '.wh.sneaky'), '');
    await expect(layerDiffId(d)).rejects.toMatchObject({ code: 'LAYER_RESERVED_NAME' });
    await expect(layerDiffId(d)).rejects.toBeInstanceOf(UserError);
  });
});

describeWith({ commands: ['tar'] }, 'the tar against GNU tar', () => {
  it('is byte for byte what GNU tar writes in ustar format with names sorted', async () => {
    const d = sample();
    writeFileSync(join(d, 'etc/hard'), 'two names');
    linkSync(join(d, 'etc/hard'), join(d, 'etc/hard2'));
    const mid = `${'m'.repeat(90)}/${'n'.repeat(50)}`;
    mkdirSync(join(d, mid), { recursive: true });
    writeFileSync(join(d, mid, 'f.txt'), 'x'.repeat(1000));
    mkdirSync(join(d, 'empty'));
    chmodSync(join(d, 'empty'), 0o1777);
    pin(d, 'etc/hard', mid, `${mid}/f.txt`, 'm'.repeat(90), 'empty', 'etc');
    const top = ['empty', 'etc', 'm'.repeat(90), 'usr'];
    const gnu = execFileSync('tar', ['--format=ustar', '--sort=name', '--numeric-owner', '-b1', '-C', d, '-cf', '-', ...top], { env: { ...process.env, LC_ALL: 'C' } });
    const ours = await bytesOf(d);
    expect(ours.length).toBe(gnu.length);
    expect(ours.equals(gnu)).toBe(true);
  });
});

describeRoot('whiteouts, opaque folders, capabilities and owners (root)', () => {
  it('writes a whiteout device as an empty .wh.NAME file and an opaque folder as its marker, first in the folder', async () => {
    const d = fresh();
    mkdirSync(join(d, 'etc'));
    mknodChar(join(d, 'etc/gone'), 0, 0, 0);
    writeFileSync(join(d, 'etc/-first'), 'sorts before .');
    mkdirSync(join(d, 'opt'));
    lsetxattr(join(d, 'opt'), 'trusted.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(d, 'opt/-new'), 'n');
    const e = await entriesOf(await bytesOf(d));
    expect(e.map((x) => [x.name, x.type, x.size])).toEqual([
      ['etc/', 'directory', 0],
      ['etc/-first', 'file', 14],
      ['etc/.wh.gone', 'file', 0],
      ['opt/', 'directory', 0],
      ['opt/.wh..wh..opq', 'file', 0],
      ['opt/-new', 'file', 1],
    ]);
    expect(e.find((x) => x.name === 'etc/.wh.gone')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
  });

  it('writes whiteouts that share one inode (overlayfs links them) each as its own file, and keeps a real device node', async () => {
    const d = fresh();
    mknodChar(join(d, 'a'), 0, 0, 0);
    linkSync(join(d, 'a'), join(d, 'b'));
    mknodChar(join(d, 'null'), 0o666, 1, 3);
    const e = await entriesOf(await bytesOf(d));
    expect(e.map((x) => [x.name, x.type])).toEqual([
      ['.wh.a', 'file'],
      ['.wh.b', 'file'],
      ['null', 'character-device'],
    ]);
    const raw = await bytesOf(d);
    const nullHeader = raw.subarray(1024, 1536);
    expect(nullHeader.subarray(329, 337).toString('latin1')).toBe('0000001\0');
    expect(nullHeader.subarray(337, 345).toString('latin1')).toBe('0000003\0');
  });

  it('gives an opaque marker to the root folder too, and ignores an opaque value other than y', async () => {
    const d = fresh();
    lsetxattr(d, 'trusted.overlay.opaque', Buffer.from('y'));
    mkdirSync(join(d, 'x'));
    lsetxattr(join(d, 'x'), 'trusted.overlay.opaque', Buffer.from('x'));
    const e = await entriesOf(await bytesOf(d));
    expect(e.map((x) => x.name)).toEqual(['.wh..wh..opq', 'x/']);
  });

  it('stores security.capability as a PAX record with its bytes, and big owners as PAX uid/gid', async () => {
    const d = fresh();
    writeFileSync(join(d, 'ping'), 'elf');
    execFileSync('setcap', ['cap_net_raw+ep', join(d, 'ping')]);
    const cap = lgetxattr(join(d, 'ping'), 'security.capability')!;
    expect(cap.length).toBeGreaterThan(0);
    writeFileSync(join(d, 'owned'), 'o');
    chownSync(join(d, 'owned'), 3_000_000, 1000);
    const bytes = await bytesOf(d);
    const key = Buffer.from(' SCHILY.xattr.security.capability=');
    const at = bytes.indexOf(key);
    expect(at).toBeGreaterThan(0);
    expect(bytes.subarray(at + key.length, at + key.length + cap.length).equals(cap)).toBe(true);
    expect(bytes[at + key.length + cap.length]).toBe(0x0a);
    const e = await entriesOf(bytes);
    // tar-stream leaves the PAX uid to its reader (unpack.ts applies it); GNU tar applies it itself.
    expect(e.find((x) => x.name === 'owned')).toMatchObject({ uid: 0, gid: 1000, pax: { uid: '3000000' } });
    expect(execFileSync('tar', ['-tvf', '-', '--numeric-owner', 'owned'], { input: bytes }).toString()).toContain('3000000/1000');
    expect(Object.keys(e.find((x) => x.name === 'ping')!.pax)).toEqual(['SCHILY.xattr.security.capability']);
  });

  it('keeps a mode of 0 (root reads the file)', async () => {
    const d = fresh();
    writeFileSync(join(d, 'shadow'), 'locked');
    chmodSync(join(d, 'shadow'), 0);
    const e = await entriesOf(await bytesOf(d));
    expect(e).toMatchObject([{ name: 'shadow', mode: 0, body: 'locked', pax: {} }]);
  });

  it('refuses an overlay upper folder with a redirected folder', async () => {
    const d = fresh();
    mkdirSync(join(d, 'moved'));
    lsetxattr(join(d, 'moved'), 'trusted.overlay.redirect', Buffer.from('/old'));
    await expect(layerDiffId(d)).rejects.toMatchObject({ code: 'LAYER_OVERLAY_UNSUPPORTED' });
  });

  it('unpacks with the image store\'s unpacker under the DiffID computed here, whiteouts and opaque folder back as overlayfs has them', async () => {
    const d = sample();
    mknodChar(join(d, 'etc/gone'), 0, 0, 0);
    mkdirSync(join(d, 'opt'));
    lsetxattr(join(d, 'opt'), 'trusted.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(d, 'opt/f'), 'f');
    chownSync(join(d, 'opt/f'), 1234, 5678);
    const { diffId, size } = await layerDiffId(d);
    const parent = join(work, `unpack${n++}`);
    mkdirSync(parent, 0o700);
    const out = join(parent, 'layer');
    const r = await unpackLayer(layerTarStream(d), { dir: out, mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, diffId });
    expect(r.size).toBe(size);
    expect(readFileSync(join(out, 'etc/app.conf'), 'utf8')).toBe('port=80\n');
    expect(lgetxattr(join(out, 'opt'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    // The unpacked layer is the same layer: its tar is the same bytes.
    expect((await layerDiffId(out)).diffId).toBe(diffId);
  });
});

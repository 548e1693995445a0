// unpackLayer against real tarballs built here (tar-stream's pack; gzip by zlib, zstd by the
// zstd command): a normal layer unpacks exactly, hostile entries are refused with nothing left
// behind, whiteouts work under a real overlayfs mount, and bad digests or truncated blobs fail.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { unpackLayer } from '../../../src/image/unpack.js';
import { lgetxattr } from '../../../src/sys/xattr.js';
import { describeWith } from '../../harness/require.js';
import { makeTar, type TarEntry } from '../../harness/tar.js';

type Entry = TarEntry;
type Compression = 'none' | 'gzip' | 'zstd';

const MEDIA: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

function compress(t: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(t);
  if (c === 'zstd') return execFileSync('zstd', ['-q', '-c', '-'], { input: t });
  return t;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'stack-unpack-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Unpacks `entries` as a layer compressed with `c` into work/<name>; digests right unless overridden. */
async function unpack(entries: Entry[], c: Compression = 'none', over: { digest?: string; diffId?: string; blob?: (b: Buffer) => Buffer; name?: string } = {}) {
  const t = await makeTar(entries);
  const blob = compress(t, c);
  const sent = over.blob ? over.blob(blob) : blob;
  const dir = join(work, over.name ?? 'layer');
  const result = await unpackLayer(Readable.from([sent]), { dir, mediaType: MEDIA[c], digest: over.digest ?? sha(blob), diffId: over.diffId ?? sha(t) });
  return { dir, result };
}

/** Expects the unpack to fail with `code` and leave nothing in work/ (no layer, no partial). */
async function refused(entries: Entry[], code: string, c: Compression = 'none', over = {}): Promise<void> {
  const before = readdirSync(work);
  await expect(unpack(entries, c, over)).rejects.toMatchObject({ name: 'UserError', code });
  expect(readdirSync(work)).toEqual(before);
}

describeWith({ root: true, commands: ['zstd', 'mount', 'umount', 'tar'] }, 'unpackLayer', () => {
  const normal: Entry[] = [
    { header: { name: './', type: 'directory', mode: 0o755 } },
    { header: { name: 'etc/', type: 'directory', mode: 0o750, uid: 1234, gid: 4321 } },
    { header: { name: 'etc/hello', mode: 0o640, uid: 1234, gid: 4321, pax: { 'SCHILY.xattr.user.note': 'v1' } }, body: 'hello\n' },
    { header: { name: 'etc/link', type: 'symlink', linkname: 'hello', uid: 1234, gid: 4321 } },
    { header: { name: 'etc/hard', type: 'link', linkname: 'etc/hello' } },
    { header: { name: 'usr/bin/su', mode: 0o4755 }, body: '#!/bin/sh\n' },
    { header: { name: './abs', type: 'symlink', linkname: '/etc/passwd' } },
  ];

  for (const c of ['none', 'gzip', 'zstd'] as const) {
    it(`unpacks a normal ${c} layer exactly (modes, owners, links, xattrs, mtimes)`, async () => {
      const { dir, result } = await unpack(normal, c);
      expect(result.notes).toEqual([]);
      expect(result.existed).toBe(false);
      expect(readdirSync(work)).toEqual(['layer']);
      const hello = statSync(join(dir, 'etc/hello'));
      expect(readFileSync(join(dir, 'etc/hello'), 'utf8')).toBe('hello\n');
      expect([hello.mode & 0o7777, hello.uid, hello.gid, hello.nlink]).toEqual([0o640, 1234, 4321, 2]);
      expect(hello.mtimeMs).toBe(1_600_000_000_000);
      expect(statSync(join(dir, 'etc/hard')).ino).toBe(hello.ino);
      expect(lgetxattr(join(dir, 'etc/hello'), 'user.note')?.toString()).toBe('v1');
      const etc = statSync(join(dir, 'etc'));
      expect([etc.mode & 0o7777, etc.uid, etc.mtimeMs]).toEqual([0o750, 1234, 1_600_000_000_000]);
      expect(readlinkSync(join(dir, 'etc/link'))).toBe('hello');
      expect(lstatSync(join(dir, 'etc/link')).uid).toBe(1234);
      expect(readlinkSync(join(dir, 'abs'))).toBe('/etc/passwd');
      expect(statSync(join(dir, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
      expect(statSync(join(dir, 'usr')).mode & 0o7777).toBe(0o755);
    });
  }

  it('refuses entries that escape the layer, leaving nothing anywhere', async () => {
    const mark = `stack-unpack-escape-${randomBytes(4).toString('hex')}`;
    const file = (name: string): Entry => ({ header: { name }, body: 'pwned' });
    await refused([file('ok'), file('../x')], 'LAYER_PATH_ESCAPE');
    expect(existsSync(join(work, 'x'))).toBe(false);
    await refused([file(`/tmp/${mark}`)], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: 'a', type: 'symlink', linkname: '/' } }, file(`a/tmp/${mark}`)], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: 'up', type: 'symlink', linkname: '..' } }, file('up/x')], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: 'd/up', type: 'symlink', linkname: '../..' } }, file('d/up/x')], 'LAYER_PATH_ESCAPE');
    // A directory the walk already knows, replaced by a later symlink entry, is never walked through.
    const dirA: Entry = { header: { name: 'a/', type: 'directory', mode: 0o755 } };
    await refused([dirA, file('a/x'), { header: { name: 'a', type: 'symlink', linkname: '/tmp' } }, file(`a/${mark}`)], 'LAYER_PATH_ESCAPE');
    await refused([dirA, { header: { name: 'a/b/', type: 'directory', mode: 0o755 } }, { header: { name: 'a', type: 'symlink', linkname: '/' } }, file(`a/tmp/${mark}`)], 'LAYER_PATH_ESCAPE');
    expect(existsSync(join(tmpdir(), mark))).toBe(false);
    expect(existsSync(join(work, 'x'))).toBe(false);
    const passwd = statSync('/etc/passwd').nlink;
    await refused([{ header: { name: 'p', type: 'link', linkname: '/etc/passwd' } }], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: 'p', type: 'link', linkname: '../x' } }], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: 'a', type: 'symlink', linkname: '/etc' } }, { header: { name: 'p', type: 'link', linkname: 'a/passwd' } }], 'LAYER_PATH_ESCAPE');
    await refused([{ header: { name: '.wh...' } }], 'LAYER_PATH_ESCAPE');
    expect(statSync('/etc/passwd').nlink).toBe(passwd);
  });

  it('names the layer and the entry in a refusal', async () => {
    const err = await unpack([{ header: { name: '../evil' }, body: 'x' }]).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/layer sha256:[0-9a-f]{64}: entry "\.\.\/evil" refused/);
  });

  it('turns whiteouts and opaque dirs into overlayfs whiteouts that a real overlay mount honours', async () => {
    const l1 = await unpack(
      [
        { header: { name: 'keep' }, body: 'k' },
        { header: { name: 'gone' }, body: 'g' },
        { header: { name: 'opq/old' }, body: 'o' },
      ],
      'gzip',
      { name: 'l1' },
    );
    const l2 = await unpack(
      [
        { header: { name: '.wh.gone' } },
        { header: { name: 'opq/.wh..wh..opq' } },
        { header: { name: 'opq/new' }, body: 'n' },
      ],
      'zstd',
      { name: 'l2' },
    );
    const wh = lstatSync(join(l2.dir, 'gone'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(lgetxattr(join(l2.dir, 'opq'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(existsSync(join(l2.dir, '.wh.gone'))).toBe(false);
    expect(existsSync(join(l2.dir, 'opq/.wh..wh..opq'))).toBe(false);
    const mnt = join(work, 'mnt');
    execFileSync('mkdir', [mnt]);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l2.dir}:${l1.dir}`, mnt]);
    try {
      expect(readdirSync(mnt).sort()).toEqual(['keep', 'opq']);
      expect(readdirSync(join(mnt, 'opq'))).toEqual(['new']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('refuses a wrong digest, a wrong DiffID and truncated blobs', async () => {
    const entries: Entry[] = [{ header: { name: 'f' }, body: 'x'.repeat(100_000) + randomBytes(50_000).toString('hex') }];
    await refused(entries, 'LAYER_DIGEST_MISMATCH', 'gzip', { digest: sha(Buffer.from('other')) });
    await refused(entries, 'LAYER_DIFFID_MISMATCH', 'zstd', { diffId: sha(Buffer.from('other')) });
    await refused(entries, 'LAYER_CORRUPT', 'gzip', { blob: (b: Buffer) => b.subarray(0, b.length >> 1) });
    await refused(entries, 'LAYER_CORRUPT', 'zstd', { blob: (b: Buffer) => b.subarray(0, b.length >> 1) });
    await refused(entries, 'LAYER_CORRUPT', 'none', { blob: (b: Buffer) => b.subarray(0, 1000) });
  });

  it('skips device nodes and FIFOs with a note', async () => {
    const { dir, result } = await unpack([
      { header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 } },
      { header: { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 } },
      { header: { name: 'run/fifo', type: 'fifo' } },
      { header: { name: 'ok' }, body: 'ok' },
    ]);
    expect(result.notes).toHaveLength(3);
    expect(result.notes[0]).toMatch(/^dev\/null: character-device skipped/);
    expect(existsSync(join(dir, 'dev/null'))).toBe(false);
    expect(existsSync(join(dir, 'run/fifo'))).toBe(false);
    expect(readFileSync(join(dir, 'ok'), 'utf8')).toBe('ok');
  });

  it('hashes the whole tar, trailing record padding included (a GNU tar archive)', async () => {
    const src = join(work, 'src');
    execFileSync('mkdir', ['-p', join(src, 'a/b')]);
    execFileSync('sh', ['-c', `echo data > ${join(src, 'a/b/f')}`]);
    const t = execFileSync('tar', ['-C', src, '--format=gnu', '-cf', '-', '.']);
    expect(t.length % 10240).toBe(0); // tar's default record: zero blocks after the end marker
    const dir = join(work, 'layer');
    const result = await unpackLayer(Readable.from([t]), { dir, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: sha(t), diffId: sha(t) });
    expect(result.size).toBe(t.length);
    expect(readFileSync(join(dir, 'a/b/f'), 'utf8')).toBe('data\n');
  });

  it('refuses a media type that is not a tar layer', async () => {
    const dir = join(work, 'layer');
    await expect(
      unpackLayer(Readable.from([Buffer.from('x')]), { dir, mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(Buffer.from('x')), diffId: sha(Buffer.from('x')) }),
    ).rejects.toMatchObject({ code: 'LAYER_MEDIA_TYPE' });
    expect(readdirSync(work)).toEqual([]);
  });
});

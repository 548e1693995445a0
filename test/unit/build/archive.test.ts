// ADD's archive unpacking (src/build/archive.ts) into a fresh layer folder, as root: entries as
// written (modes, owners, links), the image's folders kept, and hostile entries refused: `..`,
// a symlink of the image on the way, a hardlink led out of the layer through a folder the
// archive replaced by a symlink. A gzip that is no tar is no archive.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isTarArchive, unpackArchive, type FolderOf } from '../../../src/build/archive.js';
import { describeRoot } from '../../harness/require.js';
import { makeTar, type TarEntry } from '../../harness/tar.js';

describeRoot('unpackArchive', () => {
  let work: string;
  let n = 0;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'stack-archive-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const unpack = async (entries: TarEntry[], dest: string, folderOf: FolderOf = () => undefined) => {
    const file = join(work, `a${n}.tar`);
    const layer = join(work, `layer${n++}`);
    mkdirSync(layer);
    writeFileSync(file, await makeTar(entries));
    await unpackArchive(file, 'tar', layer, dest, folderOf, undefined, 'a.tar');
    return layer;
  };

  it('writes folders, files, symlinks and hardlinks as the archive has them; the image\'s folders keep their mode', async () => {
    const layer = await unpack([
      { header: { name: 'app/', type: 'directory', mode: 0o750, uid: 10, gid: 11 } },
      { header: { name: 'app/run', mode: 0o4755, uid: 10, gid: 11 }, body: 'x' },
      { header: { name: 'app/link', type: 'symlink', linkname: 'run' } },
      { header: { name: 'app/hard', type: 'link', linkname: 'app/run' } },
      { header: { name: 'tmp/new', mode: 0o644 }, body: 'y' },
    ], '/', (p) => (p === '/tmp' ? { mode: 0o1777, uid: 0, gid: 0 } : undefined));
    expect(statSync(join(layer, 'app')).mode & 0o7777).toBe(0o750);
    expect(statSync(join(layer, 'app/run'))).toMatchObject({ uid: 10, gid: 11, nlink: 2 });
    expect(statSync(join(layer, 'app/run')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(layer, 'app/link')).isSymbolicLink()).toBe(true);
    expect(statSync(join(layer, 'tmp')).mode & 0o7777).toBe(0o1777); // the image's /tmp, not 0755
  });

  it('refuses .., a path through the image\'s symlink, and a hardlink led through a folder the archive replaced by a symlink', async () => {
    await expect(unpack([{ header: { name: '../escape', mode: 0o644 }, body: 'x' }], '/opt/')).rejects.toThrow(/a ".." component/);
    await expect(unpack([{ header: { name: 'bin/tool', mode: 0o755 }, body: 'x' }], '/', (p) => (p === '/bin' ? 'other' : undefined))).rejects.toThrow(/goes through \/bin, which is no folder in the image/);
    const outside = join(work, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'secret'), 'HOST SECRET');
    await expect(unpack([
      { header: { name: 'd/', type: 'directory', mode: 0o755 } },
      { header: { name: 'd/secret', mode: 0o644 }, body: 'inside' },
      { header: { name: 'd', type: 'symlink', linkname: outside } },
      { header: { name: 'x', type: 'link', linkname: 'd/secret' } },
    ], '/opt/')).rejects.toThrow(/hardlink "x" points at "d\/secret", no file of the archive/);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('HOST SECRET');
  });

  it('a gzip tar is an archive, a gzip of anything else is not', async () => {
    const tarball = await makeTar([{ header: { name: 'a', mode: 0o644 }, body: 'a' }]);
    writeFileSync(join(work, 'ok.tar.gz'), gzipSync(tarball));
    writeFileSync(join(work, 'dump.sql.gz'), gzipSync(Buffer.from('CREATE TABLE t (id int);\n'.repeat(40))));
    writeFileSync(join(work, 'plain.tar'), tarball);
    expect(await isTarArchive(join(work, 'ok.tar.gz'), 'gzip')).toBe(true);
    expect(await isTarArchive(join(work, 'dump.sql.gz'), 'gzip')).toBe(false);
    expect(await isTarArchive(join(work, 'plain.tar'), 'tar')).toBe(true);
  });
});

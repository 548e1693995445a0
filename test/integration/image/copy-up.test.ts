// copyImageContent over layers unpacked by the real unpackLayer from real tars: a new volume's
// folder gets the merged view's content of the image folder with owners, modes (set-id and
// sticky bits), symlinks as symlinks, hardlinks, mtimes and xattrs; what upper layers whited
// out or made opaque is not copied; the volume folder takes the image folder's owner and mode;
// and symlinks in the layers aimed at the host never make the copy touch the host (a canary).
import { afterEach, beforeEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyImageContent } from '../../../src/image/copy-up.js';
import { lgetxattr } from '../../../src/sys/xattr.js';
import { unpackLayers } from '../../harness/layers.js';
import { describeWith } from '../../harness/require.js';
import type { TarEntry } from '../../harness/tar.js';

const T0 = 1_600_000_000_000;
const T1 = 1_500_000_000_000;
const dir = (name: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({ header: { name, type: 'directory', mode: 0o755, ...extra } });
const file = (name: string, body: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({ header: { name, mode: 0o644, ...extra }, body });
const link = (name: string, linkname: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({ header: { name, type: 'symlink', linkname, ...extra } });

/** Every path under `root` with its kind, mode, owner, mtime and content or link text: a folder's full state. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const p = join(root, rel);
    const st = lstatSync(p);
    const head = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`;
    if (st.isDirectory()) {
      out[rel || '.'] = head;
      for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
    } else if (st.isSymbolicLink()) out[rel] = `${head} -> ${readlinkSync(p)}`;
    else out[rel] = `${head} ${readFileSync(p, 'utf8')}`;
  };
  walk('');
  return out;
}

describeWith({ root: true, commands: ['mkfifo', 'mount', 'umount'] }, 'copyImageContent (a new volume starts with the image content)', () => {
  let work: string;
  let canary: string;
  let dest: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'stack-copyup-'));
    canary = join(work, 'canary');
    mkdirSync(join(canary, 'inner'), { recursive: true });
    writeFileSync(join(canary, 'canary.txt'), 'do not touch\n');
    writeFileSync(join(canary, 'inner', 'f'), 'host file\n');
    dest = join(work, 'volume', '_data');
    mkdirSync(dest, { recursive: true });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const pg = (n: string) => `var/lib/pg/${n}`;
  const image = (): TarEntry[][] => [
    [
      dir('var/'), dir('var/lib/'),
      dir(pg(''), { mode: 0o700, uid: 999, gid: 998 }),
      file(pg('PG_VERSION'), '15\n', { mode: 0o600, uid: 999, gid: 998, mtime: new Date(T1), pax: { 'SCHILY.xattr.user.note': 'v1' } }),
      dir(pg('bin/')),
      file(pg('bin/su'), '#!/bin/sh\n', { mode: 0o4755 }),
      file(pg('bin/sg'), '#!/bin/sh\n', { mode: 0o2755, gid: 42 }),
      dir(pg('tmp/'), { mode: 0o1777 }),
      dir(pg('shared/'), { mode: 0o2775, uid: 999, gid: 998 }),
      file(pg('hard1'), 'same inode\n', { uid: 7 }),
      { header: { name: pg('hard2'), type: 'link', linkname: pg('hard1') } },
      link(pg('rel'), 'PG_VERSION', { uid: 999, gid: 998 }),
      link(pg('abs'), '/etc/passwd'),
      link(pg('up'), '../../../../../../../..'),
      link(pg('root'), '/'),
      link(pg('hostdir'), canary),
      link(pg('hostfile'), join(canary, 'canary.txt')),
      file(pg('gone'), 'whited out\n'),
      dir(pg('gonedir/')), file(pg('gonedir/x'), 'x'),
      dir(pg('opq/')), file(pg('opq/old'), 'hidden\n'),
      dir(pg('sub/')), file(pg('sub/f'), 'below a symlink\n'),
      file('etc/passwd', 'root:x:0:0::/:/bin/sh\n'),
      link('var/lib/tohost', canary),
      link('var/lib/alias', 'pg'),
    ],
    [
      dir('var/'), dir('var/lib/'),
      dir(pg(''), { mode: 0o700, uid: 999, gid: 998 }),
      file(pg('.wh.gone'), ''), file(pg('.wh.gonedir'), ''),
      dir(pg('opq/'), { mode: 0o750 }), file(pg('opq/.wh..wh..opq'), ''), file(pg('opq/new'), 'new\n'),
      link(pg('sub'), canary), // an upper symlink hides the lower folder; the copy must not write through it
      file(pg('conf'), 'upper\n', { mode: 0o640 }),
    ],
  ];

  it('copies the merged folder exactly: owners, modes, set-id/sticky bits, symlinks, hardlinks, mtimes, xattrs; whiteouts and opaque folders applied', async () => {
    const layers = await unpackLayers(work, 'layers', image());
    execFileSync('mkfifo', [join(layers[0]!, pg('fifo'))]); // the unpacker makes none: put one in the layer folder
    const before = snapshot(canary);
    const result = await copyImageContent(layers, '/var/lib/pg', dest, 'pg:15');
    expect(result).toEqual({
      files: 6, dirs: 4, symlinks: 7, hardlinks: 1,
      bytes: '15\n'.length + 2 * '#!/bin/sh\n'.length + 'same inode\n'.length + 'new\n'.length + 'upper\n'.length,
      skipped: ['/var/lib/pg/fifo: FIFO skipped (a volume gets no device nodes, sockets or FIFOs)'],
    });
    expect(readdirSync(dest).sort()).toEqual(['PG_VERSION', 'abs', 'bin', 'conf', 'hard1', 'hard2', 'hostdir', 'hostfile', 'opq', 'rel', 'root', 'shared', 'sub', 'tmp', 'up']);
    const mode = (p: string) => lstatSync(join(dest, p)).mode & 0o7777;
    const owner = (p: string) => { const s = lstatSync(join(dest, p)); return `${s.uid}:${s.gid}`; };
    // The volume folder itself takes the image folder's owner and mode.
    expect([mode('.'), owner('.')]).toEqual([0o700, '999:998']);
    expect(readFileSync(join(dest, 'PG_VERSION'), 'utf8')).toBe('15\n');
    expect([mode('PG_VERSION'), owner('PG_VERSION'), statSync(join(dest, 'PG_VERSION')).mtimeMs]).toEqual([0o600, '999:998', T1]);
    expect(lgetxattr(join(dest, 'PG_VERSION'), 'user.note')?.toString()).toBe('v1');
    expect([mode('bin/su'), mode('bin/sg'), owner('bin/sg')]).toEqual([0o4755, 0o2755, '0:42']);
    expect([mode('tmp'), mode('shared'), owner('shared'), lstatSync(join(dest, 'shared')).mtimeMs]).toEqual([0o1777, 0o2775, '999:998', T0]);
    const h1 = lstatSync(join(dest, 'hard1'));
    expect([h1.ino, h1.nlink, owner('hard1')]).toEqual([lstatSync(join(dest, 'hard2')).ino, 2, '7:0']);
    for (const [n, target] of [['rel', 'PG_VERSION'], ['abs', '/etc/passwd'], ['up', '../../../../../../../..'], ['root', '/'], ['hostdir', canary], ['hostfile', join(canary, 'canary.txt')], ['sub', canary]]) {
      expect(lstatSync(join(dest, n!)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dest, n!))).toBe(target);
    }
    expect(owner('rel')).toBe('999:998');
    // The opaque folder: only the upper content, its upper mode, and no overlayfs xattr copied.
    expect(readdirSync(join(dest, 'opq'))).toEqual(['new']);
    expect(mode('opq')).toBe(0o750);
    expect(lgetxattr(join(dest, 'opq'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(readFileSync(join(dest, 'conf'), 'utf8')).toBe('upper\n');
    // Nothing on the host moved: the canary folder the layers aim at is as it was, with no `f` written into it.
    expect(snapshot(canary)).toEqual(before);
  });

  it('copies exactly what a real overlayfs mount of the same layers shows (the launcher view)', async () => {
    const layers = await unpackLayers(work, 'layers', image());
    const mnt = join(work, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...layers].reverse().join(':')}`, mnt]);
    try {
      expect(await copyImageContent(layers, '/var/lib/pg', dest, 'pg:15')).not.toBe(false);
      const seen = snapshot(join(mnt, 'var/lib/pg'));
      const copied = snapshot(dest);
      // The volume folder keeps its own times (Docker copies only its owner and mode).
      const [seenRoot, copiedRoot] = [seen['.']!.split(' '), copied['.']!.split(' ')];
      expect(copiedRoot.slice(0, 2)).toEqual(seenRoot.slice(0, 2));
      delete seen['.'];
      delete copied['.'];
      expect(Object.keys(seen).length).toBeGreaterThan(10);
      expect(copied).toEqual(seen);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('a folder path reached through symlinks resolves inside the image: an alias copies its target, a link to the host copies nothing', async () => {
    const layers = await unpackLayers(work, 'layers', image());
    const before = snapshot(canary);
    const viaAlias = await copyImageContent(layers, '/var/lib/alias', dest, 'pg:15');
    expect(viaAlias).toMatchObject({ files: 6, hardlinks: 1 });
    expect(readFileSync(join(dest, 'conf'), 'utf8')).toBe('upper\n');
    const other = join(work, 'volume2');
    mkdirSync(other);
    expect(await copyImageContent(layers, '/var/lib/tohost', other, 'pg:15')).toBe(false);
    expect(await copyImageContent(layers, '/var/lib/pg/up/var/lib/pg/hostdir', other, 'pg:15')).toBe(false);
    expect(readdirSync(other)).toEqual([]);
    expect(snapshot(canary)).toEqual(before);
  });

  it('copies nothing and returns false when the image has no folder there (absent, a file, whited out)', async () => {
    const layers = await unpackLayers(work, 'layers', image());
    expect(await copyImageContent(layers, '/no/such/dir', dest, 'pg:15')).toBe(false);
    expect(await copyImageContent(layers, '/etc/passwd', dest, 'pg:15')).toBe(false);
    expect(await copyImageContent(layers, '/var/lib/pg/gonedir', dest, 'pg:15')).toBe(false);
    expect(await copyImageContent(layers, '/var/lib/pg/sub', dest, 'pg:15')).toBe(false); // the upper symlink resolves to a host path: absent in the image
    expect(readdirSync(dest)).toEqual([]);
    expect(lstatSync(dest).mode & 0o7777).toBe(0o755);
  });

  it('skips, with a note, a name that is not UTF-8 (Node cannot name it), copying the rest', async () => {
    const layers = await unpackLayers(work, 'layers', [[dir('data/'), file('data/ok', 'ok\n')]]);
    writeFileSync(Buffer.concat([Buffer.from(join(layers[0]!, 'data/')), Buffer.from([0x62, 0xff])]), 'latin-1 name\n');
    const result = await copyImageContent(layers, '/data', dest, 'i:1');
    expect(result).toMatchObject({ files: 1, skipped: ['/data/b\ufffd: skipped (its name is not UTF-8)'] });
    expect(readdirSync(dest)).toEqual(['ok']);
  });

  it('refuses a destination that is not empty or not a real folder, touching nothing', async () => {
    const layers = await unpackLayers(work, 'layers', image());
    writeFileSync(join(dest, 'mine'), 'kept\n');
    await expect(copyImageContent(layers, '/var/lib/pg', dest, 'pg:15')).rejects.toMatchObject({ name: 'UserError', code: 'COPY_UP_DEST' });
    expect(readdirSync(dest)).toEqual(['mine']);
    const linked = join(work, 'volume', 'linked');
    symlinkSync(canary, linked);
    const before = snapshot(canary);
    await expect(copyImageContent(layers, '/var/lib/pg', linked, 'pg:15')).rejects.toMatchObject({ name: 'UserError', code: 'COPY_UP_DEST' });
    expect(snapshot(canary)).toEqual(before);
  });
});

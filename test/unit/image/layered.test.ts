// The merged view of an image's layers read from its layer folders (layered.ts), over layers
// unpacked by the real unpackLayer from real tars: upper entries hide lower ones, whiteouts and
// opaque folders hide what overlayfs hides, symlinks resolve inside the view (never on the
// host), and a hostile /etc/passwd is refused or finds nothing. Needs root (the unpacker makes
// whiteout devices and trusted.* xattrs).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../src/errors.js';
import { resolveImageUser, resolveInRoot } from '../../../src/image/image-user.js';
import { loadLayeredUserDb, lookupInLayers, lookupMerged, resolveLayeredUser } from '../../../src/image/layered.js';
import { unpackLayers } from '../../harness/layers.js';
import { describeWith } from '../../harness/require.js';
import type { TarEntry } from '../../harness/tar.js';

const dir = (name: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({ header: { name, type: 'directory', mode: 0o755, ...extra } });
const file = (name: string, body: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({ header: { name, mode: 0o644, ...extra }, body });
const link = (name: string, linkname: string): TarEntry => ({ header: { name, type: 'symlink', linkname } });

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/srv:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1002:\nextra:x:2000:app\n';

describeWith({ root: true, commands: ['mkfifo'] }, 'the merged view of image layers', () => {
  let work: string;
  let hostEtc: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'stack-layered-'));
    // A host folder with a "host" user: no lookup in an image may ever find it.
    hostEtc = join(work, 'host-etc');
    execFileSync('mkdir', ['-p', hostEtc]);
    writeFileSync(join(hostEtc, 'passwd'), 'hostonly:x:4242:4242::/:/bin/sh\n');
    writeFileSync(join(hostEtc, 'shadow'), 'hostonly:secret:::::::\n');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** The text of the file the merged view shows at `p`, or undefined. */
  const read = (layers: string[], p: string): string | undefined => {
    const host = lookupInLayers(layers, p, 'test:1');
    return host === undefined ? undefined : readFileSync(host, 'utf8');
  };

  it('an upper file hides the lower one; a path only a lower layer has is found there', async () => {
    const layers = await unpackLayers(work, 'upper', [
      [dir('etc/'), file('etc/a', 'low'), file('etc/only-low', 'L')],
      [dir('etc/'), file('etc/a', 'up')],
    ]);
    expect(lookupInLayers(layers, '/etc/a', 'i')).toBe(join(layers[1]!, 'etc/a'));
    expect(read(layers, '/etc/a')).toBe('up');
    expect(read(layers, 'etc/only-low')).toBe('L');
    expect(lookupInLayers(layers, '/etc/none', 'i')).toBeUndefined();
    const etc = lookupMerged(layers, '/etc', 'i');
    expect(etc).toMatchObject({ kind: 'dir', dirs: [join(layers[1]!, 'etc'), join(layers[0]!, 'etc')] });
  });

  it('a whiteout hides a lower file and a lower folder with all it holds; a later layer brings them back', async () => {
    const layers = await unpackLayers(work, 'whiteout', [
      [dir('etc/'), file('etc/a', 'low'), dir('opt/d/'), file('opt/d/x', 'x'), file('opt/keep', 'k')],
      [file('etc/.wh.a', ''), file('opt/.wh.d', '')],
    ]);
    expect(lookupInLayers(layers, '/etc/a', 'i')).toBeUndefined();
    expect(lookupInLayers(layers, '/opt/d', 'i')).toBeUndefined();
    expect(lookupInLayers(layers, '/opt/d/x', 'i')).toBeUndefined();
    expect(read(layers, '/opt/keep')).toBe('k');
    const again = await unpackLayers(work, 'whiteout-again', [
      [dir('etc/'), file('etc/a', 'low'), dir('opt/d/'), file('opt/d/x', 'x')],
      [file('etc/.wh.a', ''), file('opt/.wh.d', '')],
      [file('etc/a', 'back'), dir('opt/d/'), file('opt/d/y', 'y')],
    ]);
    expect(read(again, '/etc/a')).toBe('back');
    expect(read(again, '/opt/d/y')).toBe('y');
    expect(lookupInLayers(again, '/opt/d/x', 'i')).toBeUndefined(); // the new folder does not merge with the whited-out one
  });

  it('an opaque folder hides all the lower content of that folder, not its siblings', async () => {
    const layers = await unpackLayers(work, 'opaque', [
      [dir('srv/'), file('srv/a', 'a'), dir('srv/sub/'), file('srv/sub/b', 'b'), file('other', 'o')],
      [dir('srv/'), file('srv/.wh..wh..opq', ''), file('srv/c', 'c')],
    ]);
    expect(lookupInLayers(layers, '/srv/a', 'i')).toBeUndefined();
    expect(lookupInLayers(layers, '/srv/sub/b', 'i')).toBeUndefined();
    expect(read(layers, '/srv/c')).toBe('c');
    expect(read(layers, '/other')).toBe('o');
    expect(lookupMerged(layers, '/srv', 'i')).toMatchObject({ kind: 'dir', dirs: [join(layers[1]!, 'srv')] });
  });

  it('a non-folder hides a lower folder, and a folder hides a lower non-folder', async () => {
    const layers = await unpackLayers(work, 'kinds', [
      [dir('x/'), file('x/in', 'in'), file('y', 'file')],
      [file('x', 'now a file'), dir('y/'), file('y/in', 'in y')],
    ]);
    expect(read(layers, '/x')).toBe('now a file');
    expect(lookupInLayers(layers, '/x/in', 'i')).toBeUndefined();
    expect(read(layers, '/y/in')).toBe('in y');
    expect(lookupMerged(layers, '/y', 'i')).toMatchObject({ kind: 'dir', dirs: [join(layers[1]!, 'y')] });
  });

  it('a symlinked /etc is resolved within the merged view, across layers', async () => {
    const layers = await unpackLayers(work, 'etc-link', [
      [dir('data/etc/'), file('data/etc/passwd', PASSWD)],
      [link('etc', '/data/etc'), dir('data/etc/'), file('data/etc/group', GROUP)],
    ]);
    expect(lookupInLayers(layers, '/etc/passwd', 'i')).toBe(join(layers[0]!, 'data/etc/passwd'));
    expect(lookupInLayers(layers, '/etc/group', 'i')).toBe(join(layers[1]!, 'data/etc/group'));
    expect(resolveLayeredUser('web', 'i:1', 'app', layers)).toEqual({ uid: 1001, gid: 1002, groups: [2000] });
    // The last component is resolved too: /etc is the view's /data/etc.
    expect(lookupMerged(layers, '/etc', 'i')).toMatchObject({ kind: 'dir', dirs: [join(layers[1]!, 'data/etc'), join(layers[0]!, 'data/etc')] });
    expect(lookupMerged(layers, '/etc', 'i', false)).toMatchObject({ kind: 'other', path: join(layers[1]!, 'etc') });
  });

  it('a symlink escaping to / (absolute or by ..) resolves inside the view, never on the host', async () => {
    const layers = await unpackLayers(work, 'escape', [
      [dir('etc/'), file('etc/passwd', PASSWD)],
      [link('up', '../../../../../../..'), link('abs', '/'), link('hostetc', hostEtc), link('hostfile', join(hostEtc, 'passwd'))],
    ]);
    expect(read(layers, '/up/etc/passwd')).toBe(PASSWD);
    expect(read(layers, '/abs/etc/passwd')).toBe(PASSWD);
    expect(read(layers, '/up/up/abs/up/etc/passwd')).toBe(PASSWD);
    expect(lookupInLayers(layers, '/up', 'i')).toBe(layers[1]); // the view's root is the topmost layer's root
    expect(lookupInLayers(layers, '/hostetc/passwd', 'i')).toBeUndefined();
    expect(lookupInLayers(layers, '/hostfile', 'i')).toBeUndefined();
    expect(lookupInLayers(layers, '/../../..' + hostEtc, 'i')).toBeUndefined();
  });

  it('a hostile /etc/passwd: a symlink to the host /etc/shadow finds only the image, the host user is never seen', async () => {
    const layers = await unpackLayers(work, 'shadow', [
      [dir('etc/'), file('etc/group', GROUP)],
      [dir('etc/'), link('etc/passwd', join(hostEtc, 'shadow'))],
    ]);
    expect(loadLayeredUserDb(layers, 'evil:1').passwd).toEqual([]);
    expect(() => resolveLayeredUser('web', 'evil:1', 'hostonly', layers)).toThrow(expect.objectContaining({
      code: 'USER_UNKNOWN', message: 'service "web": user "hostonly" is not in the /etc/passwd of image evil:1',
    }) as Error);
    const relative = await unpackLayers(work, 'shadow-rel', [[dir('etc/'), link('etc/passwd', `../../../../../../..${hostEtc}/passwd`)]]);
    expect(() => resolveLayeredUser('web', 'evil:1', 'hostonly', relative)).toThrow(expect.objectContaining({ code: 'USER_UNKNOWN' }) as Error);
  });

  it('a hostile /etc/passwd: a loop, a folder, a FIFO and a huge file are refused as BAD_IMAGE_FILE naming the image', async () => {
    const loop = await unpackLayers(work, 'loop', [[dir('etc/'), link('etc/passwd', '/etc/passwd2'), link('etc/passwd2', '../etc/passwd')]]);
    const folder = await unpackLayers(work, 'folder', [[dir('etc/passwd/')]]);
    const fifo = await unpackLayers(work, 'fifo', [[dir('etc/'), file('etc/group', GROUP)]]);
    execFileSync('mkfifo', [join(fifo[0]!, 'etc/passwd')]); // the unpacker makes no FIFO: put one in the layer folder
    const huge = await unpackLayers(work, 'huge', [[dir('etc/'), file('etc/passwd', PASSWD)]]);
    truncateSync(join(huge[0]!, 'etc/passwd'), 64 * 1024 * 1024); // sparse: 64 MiB to read
    for (const [layers, what] of [[loop, 'loop'], [folder, 'not a regular file'], [fifo, 'not a regular file'], [huge, 'more than']] as const) {
      let err: unknown;
      try {
        resolveLayeredUser('web', 'evil:1', 'app', layers);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'BAD_IMAGE_FILE', message: expect.stringContaining('image evil:1: /etc/passwd') as unknown });
      expect((err as Error).message).toContain(what);
    }
    // A numeric uid:gid reads nothing, so even a hostile image runs it.
    expect(resolveLayeredUser('web', 'evil:1', '5:6', fifo)).toEqual({ uid: 5, gid: 6, groups: [] });
  });

  it('users: /etc/passwd from an upper layer, /etc/group from a lower one; a whited-out passwd is absent', async () => {
    const layers = await unpackLayers(work, 'users', [
      [dir('etc/'), file('etc/passwd', 'old:x:1:1::/:/bin/sh\n'), file('etc/group', GROUP)],
      [dir('etc/'), file('etc/passwd', PASSWD)],
    ]);
    expect(resolveLayeredUser('web', 'i:1', 'app:extra', layers)).toEqual({ uid: 1001, gid: 2000, groups: [] });
    expect(() => resolveLayeredUser('web', 'i:1', 'old', layers)).toThrow(expect.objectContaining({ code: 'USER_UNKNOWN' }) as Error);
    const gone = await unpackLayers(work, 'users-gone', [
      [dir('etc/'), file('etc/passwd', PASSWD), file('etc/group', GROUP)],
      [file('etc/.wh.passwd', '')],
    ]);
    expect(loadLayeredUserDb(gone, 'i:1')).toMatchObject({ passwd: [], group: [{ name: 'root' }, { name: 'app' }, { name: 'extra' }] });
  });

  it('image-user.ts over one root gives the same answers (a single layer is a merged view of one)', async () => {
    const layers = await unpackLayers(work, 'single', [[dir('etc/'), file('etc/passwd', PASSWD), file('etc/group', GROUP), link('etc/alias', 'passwd')]]);
    expect(resolveImageUser('web', 'i:1', 'app', layers[0]!)).toEqual(resolveLayeredUser('web', 'i:1', 'app', layers));
    expect(resolveInRoot(layers[0]!, '/etc/alias', 'i')).toBe(join(layers[0]!, 'etc/passwd'));
  });
});

// The build context and COPY (src/build/context.ts) over real folders in a temporary folder: a
// context with its .dockerignore, a fake image below (a folder `existing` reads), and a fresh
// layer folder per COPY. Docker's rules: a file to a path or into a folder, a folder's content,
// several sources, globs, ignored paths invisible (with `!` and `**`), the Dockerfile's own
// ignore file first, nothing read outside the root, symlinks copied as links, conflicts
// refused, --exclude, and (as root) --chown and --chmod; and the source digest a cache key uses.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyInto, copySourceDigest, openContext, type CopyRequest, type CopyRoot, type ExistingLookup } from '../../../src/build/context.js';
import { UserError } from '../../../src/errors.js';
import { describeRoot } from '../../harness/require.js';

const T = 1_600_000_000;

let work: string;
let n = 0;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'stack-build-context-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function fresh(name: string): string {
  const d = join(work, `${name}${n++}`);
  mkdirSync(d);
  return d;
}

/** Writes `files` (path → content; a trailing / makes a folder) under `root`. */
function tree(root: string, files: Record<string, string>): void {
  for (const [p, body] of Object.entries(files)) {
    if (p.endsWith('/')) mkdirSync(join(root, p), { recursive: true });
    else {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), body);
    }
  }
}

/** A context folder with a Dockerfile and `files`. */
function context(files: Record<string, string>): string {
  const d = fresh('ctx');
  tree(d, { Dockerfile: 'FROM scratch\n', ...files });
  return d;
}

/** What a fake image folder has at a path (a symlink is 'file'; a folder with its mode and owner). */
function imageAt(image: string): ExistingLookup {
  return (p) => {
    const st = lstatSync(join(image, p), { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isDirectory()) return 'file';
    return { kind: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  };
}

const emptyImage: ExistingLookup = () => undefined;

/** Runs one COPY into a fresh layer folder; returns the layer folder. */
async function copy(root: CopyRoot, request: CopyRequest, existing: ExistingLookup = emptyImage): Promise<string> {
  const layer = fresh('layer');
  await copyInto(root, request, layer, existing);
  return layer;
}

/** Every path in a layer folder, sorted, folders with a trailing /. */
function listing(layer: string, at = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(layer, at)).sort()) {
    const rel = at ? `${at}/${name}` : name;
    const st = lstatSync(join(layer, rel));
    if (st.isDirectory()) {
      out.push(`${rel}/`);
      out.push(...listing(layer, rel));
    } else out.push(rel);
  }
  return out;
}

const read = (layer: string, p: string): string => readFileSync(join(layer, p), 'utf8');

async function rejects(p: Promise<unknown>, code: string, ...inMessage: string[]): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  const u = e as UserError;
  expect(u.code).toBe(code);
  for (const s of inMessage) expect(u.message).toContain(s);
  expect(u.hint).toBeTruthy();
  return u;
}

// copyInto sets owners (0:0 by default), which only root may.
describeRoot('COPY from a build context into a layer folder (root: it sets owners)', () => {
  it('copies a file to a path, into a folder with a trailing /, and into a folder the image has', async () => {
    const dir = context({ 'a.txt': 'A' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    expect(listing(await copy(ctx, { sources: ['a.txt'], dest: '/opt/b.txt' }))).toEqual(['opt/', 'opt/b.txt']);
    const into = await copy(ctx, { sources: ['a.txt'], dest: '/opt/' });
    expect(listing(into)).toEqual(['opt/', 'opt/a.txt']);
    expect(statSync(join(into, 'opt')).mode & 0o7777).toBe(0o755);
    expect(read(into, 'opt/a.txt')).toBe('A');

    const image = fresh('image');
    mkdirSync(join(image, 'etc'), 0o750);
    chmodSync(join(image, 'etc'), 0o750);
    const layer = await copy(ctx, { sources: ['a.txt'], dest: '/etc' }, imageAt(image));
    expect(listing(layer)).toEqual(['etc/', 'etc/a.txt']);
    // The folder the image has is repeated with its own mode, not made anew.
    expect(statSync(join(layer, 'etc')).mode & 0o7777).toBe(0o750);
  });

  it('copies a folder\'s content, not the folder, keeping modes and times; a file in the image is replaced', async () => {
    const dir = context({ 'src/x.sh': '#!/bin/sh\n', 'src/lib/y.txt': 'y', 'src/empty/': '' });
    chmodSync(join(dir, 'src/x.sh'), 0o755);
    utimesSync(join(dir, 'src/lib/y.txt'), T, T);
    utimesSync(join(dir, 'src/lib'), T, T);
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const image = fresh('image');
    tree(image, { 'app/old.txt': 'old', 'app/x.sh': 'replaced' });
    const layer = await copy(ctx, { sources: ['src'], dest: '/app' }, imageAt(image));
    expect(listing(layer)).toEqual(['app/', 'app/empty/', 'app/lib/', 'app/lib/y.txt', 'app/x.sh']);
    expect(statSync(join(layer, 'app/x.sh')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(layer, 'app/lib/y.txt')).mtimeMs).toBe(T * 1000);
    expect(statSync(join(layer, 'app/lib')).mtimeMs).toBe(T * 1000);
    expect(read(layer, 'app/x.sh')).toBe('#!/bin/sh\n');
    // `.` is the whole context, the Dockerfile too.
    const all = await copy(ctx, { sources: ['.'], dest: '/' });
    expect(listing(all)).toEqual(['Dockerfile', 'src/', 'src/empty/', 'src/lib/', 'src/lib/y.txt', 'src/x.sh']);
  });

  it('takes several sources only into a destination ending with /', async () => {
    const dir = context({ 'a.txt': 'A', 'b.txt': 'B', 'd/c.txt': 'C' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const layer = await copy(ctx, { sources: ['a.txt', 'b.txt', 'd'], dest: '/out/' });
    expect(listing(layer)).toEqual(['out/', 'out/a.txt', 'out/b.txt', 'out/c.txt']);
    await rejects(copy(ctx, { sources: ['a.txt', 'b.txt'], dest: '/out' }), 'COPY_DEST_NOT_DIR', '"a.txt", "b.txt"', '/out');
    await rejects(copy(ctx, { sources: ['*.txt'], dest: '/out' }), 'COPY_DEST_NOT_DIR', 'must be a folder ending with "/"');
  });

  it('matches globs as Go\'s filepath.Match; a glob matching nothing is an error only when nothing matched', async () => {
    const dir = context({ 'index.js': 'j', 'index.ts': 't', 'index.css': 'c', 'arr[0].txt': 'a', 'pkg/a/package.json': '{}', 'pkg/b/package.json': '{}', 'pkg/b/other.json': 'o' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    expect(listing(await copy(ctx, { sources: ['index.?s'], dest: '/d/' }))).toEqual(['d/', 'd/index.js', 'd/index.ts']);
    expect(listing(await copy(ctx, { sources: ['arr[[]0].txt'], dest: '/d/' }))).toEqual(['d/', 'd/arr[0].txt']);
    expect(listing(await copy(ctx, { sources: ['index.[^j]*'], dest: '/d/' }))).toEqual(['d/', 'd/index.css', 'd/index.ts']);
    expect(listing(await copy(ctx, { sources: ['pkg/*/package.json'], dest: '/d/' }))).toEqual(['d/', 'd/package.json']);
    // A glob that matches a folder copies its content.
    expect(listing(await copy(ctx, { sources: ['pk?'], dest: '/d/' }))).toEqual(['d/', 'd/a/', 'd/a/package.json', 'd/b/', 'd/b/other.json', 'd/b/package.json']);
    // `yarn.lock*` may match nothing when another source matched.
    expect(listing(await copy(ctx, { sources: ['index.js', 'yarn.lock*'], dest: '/d/' }))).toEqual(['d/', 'd/index.js']);
    await rejects(copy(ctx, { sources: ['*.py'], dest: '/d/' }), 'COPY_SOURCE_MISSING', '*.py', 'no source files were specified', dir);
    await rejects(copy(ctx, { sources: ['index[.js'], dest: '/d/' }), 'COPY_BAD_PATTERN', 'index[.js');
  });

  it('names a plain source that does not exist, with the context folder', async () => {
    const dir = context({});
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    await rejects(copy(ctx, { sources: ['missing.txt'], dest: '/x' }), 'COPY_SOURCE_MISSING', '"missing.txt"', `the build context ${dir}`);
  });

  it('hides what .dockerignore excludes, in copied folders too, with ! re-includes and ** patterns', async () => {
    const dir = context({
      '.dockerignore': '# comment\n**/*.log\nsecret\n!secret/keep.txt\nnode_modules\n*.md\n!README.md\n',
      'app.js': 'a',
      'debug.log': 'l',
      'sub/deep/trace.log': 'l',
      'sub/deep/ok.txt': 'ok',
      'secret/key.pem': 'k',
      'secret/keep.txt': 'kept',
      'node_modules/x/index.js': 'x',
      'NOTES.md': 'n',
      'README.md': 'r',
    });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    expect(ctx.ignoreFile).toBe(join(dir, '.dockerignore'));
    expect(ctx.excluded('sub/deep/trace.log')).toBe(true);
    expect(ctx.excluded('secret/keep.txt')).toBe(false);
    expect(ctx.excluded('Secret')).toBe(false); // case-sensitive, as Docker on Linux
    const layer = await copy(ctx, { sources: ['.'], dest: '/app/' });
    expect(listing(layer)).toEqual([
      'app/', 'app/.dockerignore', 'app/Dockerfile', 'app/README.md', 'app/app.js',
      'app/secret/', 'app/secret/keep.txt', 'app/sub/', 'app/sub/deep/', 'app/sub/deep/ok.txt',
    ]);
    await rejects(copy(ctx, { sources: ['debug.log'], dest: '/x' }), 'COPY_SOURCE_MISSING', 'excluded by .dockerignore');
    await rejects(copy(ctx, { sources: ['node_modules'], dest: '/x' }), 'COPY_SOURCE_MISSING', '"node_modules"');
    // A folder excluded itself still shows what a ! rule re-includes in it.
    expect(listing(await copy(ctx, { sources: ['secret'], dest: '/s' }))).toEqual(['s/', 's/keep.txt']);
    await rejects(copy(ctx, { sources: ['*.log'], dest: '/d/' }), 'COPY_SOURCE_MISSING', 'no source files were specified');
  });

  it('refuses a source that climbs out of the context; a leading / is the context root', async () => {
    const parent = fresh('outer');
    writeFileSync(join(parent, 'outside.txt'), 'host secret');
    const dir = join(parent, 'ctx');
    mkdirSync(dir);
    tree(dir, { Dockerfile: 'FROM scratch\n', 'in.txt': 'in' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    await rejects(copy(ctx, { sources: ['../outside.txt'], dest: '/x' }), 'COPY_OUTSIDE_CONTEXT', '"../outside.txt"', dir);
    await rejects(copy(ctx, { sources: ['sub/../../outside.txt'], dest: '/x' }), 'COPY_OUTSIDE_CONTEXT');
    expect(read(await copy(ctx, { sources: ['/in.txt'], dest: '/x' }), 'x')).toBe('in');
    expect(read(await copy(ctx, { sources: ['nope/../in.txt'], dest: '/x' }), 'x')).toBe('in');
  });

  it('copies a symlink inside a copied folder as a symlink; a source symlink is followed inside the context only', async () => {
    const parent = fresh('outer');
    writeFileSync(join(parent, 'outside.txt'), 'host secret');
    const dir = join(parent, 'ctx');
    mkdirSync(dir);
    tree(dir, { Dockerfile: 'FROM scratch\n', 'conf/real.conf': 'real', 'data/v1/x': 'x', 'etc/passwd': 'context passwd' });
    symlinkSync('real.conf', join(dir, 'conf/link.conf'));
    symlinkSync('../../outside.txt', join(dir, 'conf/escape')); // copied as a link: its text is data
    symlinkSync('conf/real.conf', join(dir, 'top.conf'));
    symlinkSync('../outside.txt', join(dir, 'out.txt'));
    symlinkSync('/etc/passwd', join(dir, 'abs'));
    symlinkSync('data/v1', join(dir, 'current'));
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const layer = await copy(ctx, { sources: ['conf'], dest: '/c' });
    expect(readlinkSync(join(layer, 'c/link.conf'))).toBe('real.conf');
    expect(readlinkSync(join(layer, 'c/escape'))).toBe('../../outside.txt');
    // A source that is a symlink is followed: the file it names, under the link's name.
    const followed = await copy(ctx, { sources: ['top.conf'], dest: '/d/' });
    expect(lstatSync(join(followed, 'd/top.conf')).isFile()).toBe(true);
    expect(read(followed, 'd/top.conf')).toBe('real');
    expect(listing(await copy(ctx, { sources: ['current'], dest: '/v' }))).toEqual(['v/', 'v/x']);
    await rejects(copy(ctx, { sources: ['out.txt'], dest: '/x' }), 'COPY_OUTSIDE_CONTEXT', '"out.txt"', 'the symlink "out.txt"');
    await rejects(copy(ctx, { sources: ['conf/escape'], dest: '/x' }), 'COPY_OUTSIDE_CONTEXT');
    // An absolute link target is read inside the context, never on the host.
    expect(read(await copy(ctx, { sources: ['abs'], dest: '/x' }), 'x')).toBe('context passwd');
  });

  it('refuses a file onto a folder, a folder onto a file, and a destination under a file', async () => {
    const dir = context({ 'a.txt': 'A', 'd/x': 'x' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const image = fresh('image');
    tree(image, { 'srv/x/': '', 'etc/hosts': 'h' });
    await rejects(copy(ctx, { sources: ['d'], dest: '/srv' }, imageAt(image)), 'COPY_DEST_CONFLICT', '/srv/x');
    await rejects(copy(ctx, { sources: ['d'], dest: '/etc/hosts' }, imageAt(image)), 'COPY_DEST_CONFLICT', '/etc/hosts');
    await rejects(copy(ctx, { sources: ['a.txt'], dest: '/etc/hosts/a' }, imageAt(image)), 'COPY_DEST_NOT_DIR', '/etc/hosts');
    // A file onto a file in the image is fine: the layer's hides it.
    expect(read(await copy(ctx, { sources: ['a.txt'], dest: '/etc/hosts' }, imageAt(image)), 'etc/hosts')).toBe('A');
  });

  it('leaves out what --exclude matches, relative to each source folder and to a glob\'s base', async () => {
    const dir = context({ 'dir1/a.txt': 'a', 'dir1/b.mp3': 'b', 'dir1/sub/c.mp3': 'c', 'home.txt': 'h', 'home.md': 'm' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    expect(listing(await copy(ctx, { sources: ['dir1'], dest: '/d/', exclude: ['*.mp3'] }))).toEqual(['d/', 'd/a.txt', 'd/sub/', 'd/sub/c.mp3']);
    expect(listing(await copy(ctx, { sources: ['dir1'], dest: '/d/', exclude: ['**/*.mp3'] }))).toEqual(['d/', 'd/a.txt', 'd/sub/']);
    expect(listing(await copy(ctx, { sources: ['hom*'], dest: '/d/', exclude: ['*.txt'] }))).toEqual(['d/', 'd/home.md']);
  });

  it('refuses a layer folder that is not empty and a relative destination', async () => {
    const dir = context({ 'a.txt': 'A' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const layer = fresh('layer');
    writeFileSync(join(layer, 'x'), '');
    await rejects(copyInto(ctx, { sources: ['a.txt'], dest: '/a' }, layer, emptyImage), 'COPY_LAYER_DIR');
    await rejects(copyInto(ctx, { sources: ['a.txt'], dest: 'a' }, fresh('layer'), emptyImage), 'COPY_DEST_RELATIVE');
  });

  it('reads a --from folder with nothing excluded', async () => {
    const stage = fresh('stage');
    tree(stage, { 'usr/bin/tool': 'bin', '.dockerignore': 'usr\n' });
    const layer = await copy({ dir: stage }, { sources: ['/usr/bin/tool'], dest: '/usr/local/bin/' });
    expect(listing(layer)).toEqual(['usr/', 'usr/local/', 'usr/local/bin/', 'usr/local/bin/tool']);
  });
});

describe('opening a build context', () => {
  it('reads <Dockerfile>.dockerignore before the context\'s .dockerignore', async () => {
    const dir = context({ '.dockerignore': 'a.txt\n', 'a.txt': 'A', 'b.txt': 'B', 'docker/app.Dockerfile': 'FROM scratch\n', 'docker/app.Dockerfile.dockerignore': 'b.txt\n' });
    const own = await openContext(dir, join(dir, 'docker/app.Dockerfile'));
    expect(own.ignoreFile).toBe(join(dir, 'docker/app.Dockerfile.dockerignore'));
    expect([own.excluded('a.txt'), own.excluded('b.txt')]).toEqual([false, true]);
    const plain = await openContext(dir, join(dir, 'Dockerfile'));
    expect([plain.excluded('a.txt'), plain.excluded('b.txt')]).toEqual([true, false]);
    const none = await openContext(context({}), join(dir, 'Dockerfile'));
    expect(none.ignoreFile).toBeUndefined();
    await rejects(openContext(join(dir, 'nope'), join(dir, 'Dockerfile')), 'BUILD_CONTEXT_MISSING');
  });

  it('excludes the Dockerfile and the ignore file from COPY when the rules say so, and still opens', async () => {
    const dir = context({ '.dockerignore': 'Dockerfile\n.dockerignore\n', 'a.txt': 'A' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    expect([ctx.excluded('Dockerfile'), ctx.excluded('.dockerignore'), ctx.excluded('a.txt')]).toEqual([true, true, false]);
    const before = await copySourceDigest(ctx, { sources: ['.'], dest: '/' });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    expect(await copySourceDigest(ctx, { sources: ['.'], dest: '/' })).toBe(before);
    await rejects(copySourceDigest(ctx, { sources: ['Dockerfile'], dest: '/x' }), 'COPY_SOURCE_MISSING', 'excluded by .dockerignore');
  });

  it('refuses a pattern that does not parse', async () => {
    const dir = context({ '.dockerignore': 'ok\n[unclosed\n' });
    await rejects(openContext(dir, join(dir, 'Dockerfile')), 'DOCKERIGNORE_BAD_PATTERN', '[unclosed');
  });
});

describe('the source digest of a COPY', () => {
  it('changes when a copied file changes, not when an excluded file or only a time changes', async () => {
    const dir = context({ '.dockerignore': '*.log\n', 'src/a.txt': 'A', 'src/b.txt': 'B', 'x.log': '1' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const req: CopyRequest = { sources: ['.'], dest: '/app/' };
    const d0 = await copySourceDigest(ctx, req);
    expect(d0).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await copySourceDigest(ctx, req)).toBe(d0);
    writeFileSync(join(dir, 'x.log'), '2');
    expect(await copySourceDigest(ctx, req)).toBe(d0);
    utimesSync(join(dir, 'src/a.txt'), T, T);
    expect(await copySourceDigest(ctx, req)).toBe(d0);
    writeFileSync(join(dir, 'src/a.txt'), 'A2');
    const d1 = await copySourceDigest(ctx, req);
    expect(d1).not.toBe(d0);
    chmodSync(join(dir, 'src/a.txt'), 0o600);
    const d2 = await copySourceDigest(ctx, req);
    expect(d2).not.toBe(d1);
    writeFileSync(join(dir, 'src/new.txt'), '');
    const d3 = await copySourceDigest(ctx, req);
    expect(d3).not.toBe(d2);
    // The same content under another destination, owner or mode is another copy.
    expect(await copySourceDigest(ctx, { ...req, dest: '/other/' })).not.toBe(d3);
    expect(await copySourceDigest(ctx, { ...req, mode: 0o644 })).not.toBe(d3);
    expect(await copySourceDigest(ctx, { ...req, owner: { uid: 1, gid: 1 } })).not.toBe(d3);
    await rejects(copySourceDigest(ctx, { sources: ['nope'], dest: '/x' }), 'COPY_SOURCE_MISSING');
  });

  it('tells a symlink from a file with the same content, and follows a changed link target', async () => {
    const dir = context({ 'conf/a': 'same', 'conf/b': 'same' });
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const req: CopyRequest = { sources: ['conf'], dest: '/c' };
    const d0 = await copySourceDigest(ctx, req);
    rmSync(join(dir, 'conf/b'));
    symlinkSync('a', join(dir, 'conf/b'));
    const d1 = await copySourceDigest(ctx, req);
    expect(d1).not.toBe(d0);
    rmSync(join(dir, 'conf/b'));
    symlinkSync('./a', join(dir, 'conf/b'));
    expect(await copySourceDigest(ctx, req)).not.toBe(d1);
  });
});

describeRoot('COPY --chown and --chmod (root)', () => {
  it('owns copied entries and the folders it creates by --chown, and gives --chmod to files and folders', async () => {
    const dir = context({ 'src/run.sh': 'r', 'src/lib/x': 'x' });
    symlinkSync('run.sh', join(dir, 'src/link'));
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const image = fresh('image');
    mkdirSync(join(image, 'home/app'), { recursive: true });
    chmodSync(join(image, 'home/app'), 0o700);
    chownSync(join(image, 'home/app'), 1000, 1000);
    const layer = await copy(ctx, { sources: ['src'], dest: '/home/app/code', owner: { uid: 1001, gid: 1002 }, mode: 0o640 }, imageAt(image));
    const own = (p: string): [number, number, number] => {
      const st = lstatSync(join(layer, p));
      return [st.uid, st.gid, st.mode & 0o7777];
    };
    expect(own('home')).toEqual([0, 0, 0o755]); // in the image: repeated (plain image folder, root's)
    expect(own('home/app')).toEqual([1000, 1000, 0o700]); // in the image: its own owner and mode kept
    expect(own('home/app/code')).toEqual([1001, 1002, 0o640]); // created by the copy
    expect(own('home/app/code/run.sh')).toEqual([1001, 1002, 0o640]);
    expect(own('home/app/code/lib')).toEqual([1001, 1002, 0o640]);
    expect(own('home/app/code/link').slice(0, 2)).toEqual([1001, 1002]);

    // Without --chown, context files are 0:0 whoever owns them; --from keeps owners when asked.
    chownSync(join(dir, 'src/run.sh'), 4242, 4242);
    const plain = await copy(ctx, { sources: ['src/run.sh'], dest: '/r' });
    expect([lstatSync(join(plain, 'r')).uid, lstatSync(join(plain, 'r')).gid]).toEqual([0, 0]);
    const kept = await copy({ dir, keepOwners: true }, { sources: ['src/run.sh'], dest: '/r' });
    expect([lstatSync(join(kept, 'r')).uid, lstatSync(join(kept, 'r')).gid]).toEqual([4242, 4242]);
  });

  it('keeps a set-id bit under --chown and a file\'s security.capability', async () => {
    const dir = context({ 'tool': 'elf' });
    chmodSync(join(dir, 'tool'), 0o4755);
    execFileSync('setcap', ['cap_net_raw+ep', join(dir, 'tool')]);
    const ctx = await openContext(dir, join(dir, 'Dockerfile'));
    const layer = await copy(ctx, { sources: ['tool'], dest: '/usr/bin/tool', owner: { uid: 5, gid: 5 } });
    expect(lstatSync(join(layer, 'usr/bin/tool')).mode & 0o7777).toBe(0o4755);
    expect(execFileSync('getcap', [join(layer, 'usr/bin/tool')]).toString()).toContain('cap_net_raw');
  });
});

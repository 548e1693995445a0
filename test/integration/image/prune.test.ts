// Removal from a real image store (layers unpacked by unpackLayer from real tars, blobs and
// records as a pull writes them, project snapshots written by writeSnapshot as `up` does): rmi of
// an image a project uses is refused and keeps everything; rmi of an unused image removes exactly
// its unshared layers; -f removes the record but keeps the layers a project runs on; prune
// removes exactly what no record names (and crash leftovers); prune -a removes the unused images
// and keeps the used ones; a layer another process has pinned (a pull under way) is kept.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pruneImages, removeImage } from '../../../src/image/remove.js';
import { ImageStore, type ImageRecord } from '../../../src/image/store.js';
import { imagesInUse } from '../../../src/image/usage.js';
import { verifyStore } from '../../../src/image/verify.js';
import type { StateRoots } from '../../../src/state/paths.js';
import { eventually } from '../../harness/eventually.js';
import { layerTar, putImage, putProjectUsing } from '../../harness/image-store.js';
import { describeRoot } from '../../harness/require.js';

const DIST = resolve(__dirname, '../../../dist/image'); // the suite builds first

describeRoot('image removal: rmi and prune on a real store', () => {
  let tmp: string;
  let roots: StateRoots;
  let store: ImageStore;
  let base: Buffer;
  let a: ImageRecord;
  let b: ImageRecord;
  let c: ImageRecord;
  const layerNames = () => readdirSync(join(store.root, 'layers')).sort();
  const hexes = (...chains: string[]) => chains.map((x) => x.slice(7)).sort();

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stack-prune-'));
    roots = { run: join(tmp, 'run'), lib: join(tmp, 'lib') };
    store = ImageStore.forRoots(roots);
    base = await layerTar({ 'etc/os-release': 'ID=test\n' });
    a = await putImage(store, '127.0.0.1:5000/t/a:v1', [base, await layerTar({ 'a.txt': 'A' })]);
    b = await putImage(store, '127.0.0.1:5000/t/b:v1', [base, await layerTar({ 'b.txt': 'B' })]);
    c = await putImage(store, 'docker.io/library/cimg:1', [await layerTar({ 'c.txt': 'C'.repeat(100_000) })]);
    await putProjectUsing(roots, 'p1', { db: a });
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('sees the projects using images from their snapshots (and skips a bad one)', async () => {
    mkdirSync(join(roots.run, 'broken'), { recursive: true });
    writeFileSync(join(roots.run, 'broken', 'project.json'), '{not json');
    const usage = await imagesInUse(roots);
    expect(usage.references.get(a.name)).toEqual([{ project: 'p1', service: 'db' }]);
    expect(usage.ids.get(a.configDigest)).toEqual([{ project: 'p1', service: 'db' }]);
    expect([...usage.layers.keys()].sort()).toEqual([...a.layers].sort());
    expect(usage.references.has(b.name)).toBe(false);
  });

  it('refuses to remove an image a project uses, naming the project and service, and keeps everything', async () => {
    const before = layerNames();
    const err = await removeImage(store, roots, '127.0.0.1:5000/t/a:v1', { force: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UserError', code: 'IMAGE_IN_USE' });
    expect((err as Error).message).toContain('project p1 service db');
    expect((err as { hint: string }).hint).toContain('stack down');
    expect(layerNames()).toEqual(before);
    expect(await store.getRecord(a.name)).toEqual(a);
    expect(await verifyStore(store)).toEqual([]);
  });

  it('removes an unused image: its record, config, manifest and unshared layer; the shared base stays', async () => {
    const report = await removeImage(store, roots, '127.0.0.1:5000/t/b:v1', { force: false });
    expect(report.untagged).toEqual(['127.0.0.1:5000/t/b:v1', `127.0.0.1:5000/t/b@${b.digest}`]);
    expect(report.deleted).toEqual([b.configDigest, b.layers[1]]);
    expect(report.reclaimed).toBeGreaterThan(0);
    expect(await store.getRecord(b.name)).toBeUndefined();
    expect(await store.hasBlob(b.configDigest)).toBe(false);
    expect(await store.hasBlob(b.manifestDigest)).toBe(false);
    expect(layerNames()).toEqual(hexes(a.layers[0]!, a.layers[1]!, c.layers[0]!));
    expect(await verifyStore(store)).toEqual([]);
  });

  it('an unknown image is IMAGE_NOT_FOUND naming it', async () => {
    const err = await removeImage(store, roots, 'nothere:1', { force: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect((err as Error).message).toContain('nothere:1');
  });

  it('prune removes exactly what no record names: a dangling layer and blob, and crash leftovers', async () => {
    const dangling = await putImage(store, 'docker.io/library/gone:1', [base, await layerTar({ 'd.txt': 'D' })]);
    rmSync(store.recordPath(dangling.name)); // as when a tag moved: the old image's content stays
    mkdirSync(join(store.root, 'layers', `${'e'.repeat(64)}.removing-abc123`));
    writeFileSync(join(store.root, 'layers', `${'e'.repeat(64)}.removing-abc123`, 'x'), 'x'.repeat(10_000));
    mkdirSync(join(store.root, 'layers', `${'f'.repeat(64)}.partial-abc123`));
    const report = await pruneImages(store, roots, { all: false });
    expect(report.untagged).toEqual([]);
    expect(report.deleted).toEqual([dangling.configDigest, dangling.layers[1]]);
    expect(report.reclaimed).toBeGreaterThan(10_000);
    expect(layerNames()).toEqual(hexes(a.layers[0]!, a.layers[1]!, c.layers[0]!));
    expect(await store.hasBlob(dangling.manifestDigest)).toBe(false);
    expect((await store.listRecords()).map((r) => r.name).sort()).toEqual([c.name, a.name].sort());
    expect(await verifyStore(store)).toEqual([]);
  });

  it('prune -a removes the images no project uses and keeps the used one', async () => {
    const report = await pruneImages(store, roots, { all: true });
    expect(report.untagged).toEqual(['cimg:1', `cimg@${c.digest}`]);
    expect(report.deleted).toEqual([c.configDigest, c.layers[0]]);
    expect((await store.listRecords()).map((r) => r.name)).toEqual([a.name]);
    expect(layerNames()).toEqual(hexes(...a.layers));
    expect(await verifyStore(store)).toEqual([]);
  });

  it('rmi -f of a used image removes the record but keeps the layers the project runs on', async () => {
    const report = await removeImage(store, roots, a.configDigest.slice(7, 19), { force: true });
    expect(report.untagged).toEqual(['127.0.0.1:5000/t/a:v1', `127.0.0.1:5000/t/a@${a.digest}`]);
    expect(report.keptInUse.map((k) => k.layer).sort()).toEqual([...a.layers].sort());
    expect(report.keptInUse[0]!.users).toEqual([{ project: 'p1', service: 'db' }]);
    expect(await store.getRecord(a.name)).toBeUndefined();
    expect(layerNames()).toEqual(hexes(...a.layers));
    expect(await store.hasBlob(a.configDigest)).toBe(true); // the running image's config
  });

  it('a layer another process has pinned (a pull under way) is kept by prune; removed once the pin is gone', async () => {
    const d = await putImage(store, 'docker.io/library/dimg:1', [await layerTar({ 'pin.txt': 'P' })]);
    rmSync(store.recordPath(d.name));
    // A child process that sees the layer as a pull does (hasLayer pins it) and then waits.
    const script = `import { ImageStore } from '${DIST}/store.js';
const s = new ImageStore(process.argv[1]);
await s.hasLayer(process.argv[2]);
console.log('pinned');
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, store.root, d.layers[0]!], { stdio: ['ignore', 'pipe', 'inherit'] });
    const gone = new Promise((r) => child.once('exit', r));
    try {
      let out = '';
      child.stdout!.on('data', (x: Buffer) => (out += x.toString()));
      await eventually('the child to pin the layer', () => out.includes('pinned') || undefined);
      const report = await pruneImages(store, roots, { all: false });
      expect(report.keptBusy).toContain(d.layers[0]);
      expect(existsSync(store.layerDir(d.layers[0]!))).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await gone;
    }
    const after = await pruneImages(store, roots, { all: false });
    expect(after.deleted).toContain(d.layers[0]);
    expect(existsSync(store.layerDir(d.layers[0]!))).toBe(false);
  });
});

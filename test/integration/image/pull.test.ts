// pullImage against a real registry (Debian's docker-registry on 127.0.0.1) behind a small
// counting proxy: images pushed by hand (tar-stream layers, gzip, zstd by the zstd command, plain)
// sharing a base layer; a shared layer fetched once; two `node` processes pulling one image at
// once; a pull SIGKILLed mid-layer; a corrupted manifest and a corrupted layer on the registry's
// disk, and one with bytes past its gzip's end. Progress events carry sizes and byte counts. Child pulls run the built dist/ (the suite builds first).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostPlatform } from '../../../src/image/platform.js';
import { pullImage, type PullProgress } from '../../../src/image/pull.js';
import { chainIds, ImageStore } from '../../../src/image/store.js';
import { eventually } from '../../harness/eventually.js';
import { pushBlob, startRegistry, type TestRegistry } from '../../harness/registry.js';
import { describeWith, hasCommand } from '../../harness/require.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LAYER = { none: 'application/vnd.oci.image.layer.v1.tar', gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd' };
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DIST = resolve(__dirname, '../../../dist/image');

async function makeTar(files: Record<string, Buffer | string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, body] of Object.entries(files)) {
    await new Promise<void>((res, rej) => pack.entry({ name, type: name.endsWith('/') ? 'directory' : 'file', mode: name.endsWith('/') ? 0o755 : 0o644, mtime: new Date(1_600_000_000_000) }, name.endsWith('/') ? '' : body, (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

interface Layer {
  tar: Buffer;
  blob: Buffer;
  mediaType: string;
}

function compress(tarBytes: Buffer, how: keyof typeof LAYER): Layer {
  const blob = how === 'gzip' ? gzipSync(tarBytes) : how === 'zstd' ? execFileSync('zstd', ['-q', '-c'], { input: tarBytes, maxBuffer: 1 << 28 }) : tarBytes;
  return { tar: tarBytes, blob, mediaType: LAYER[how] };
}

/** Pushes an image of `layers` (bottom first) as `repo:v1`; returns its digests. */
async function pushImage(reg: TestRegistry, repo: string, layers: Layer[]) {
  const { os, architecture } = hostPlatform();
  const config = Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l.tar)) } }));
  const configDigest = await pushBlob(reg, repo, config);
  for (const l of layers) await pushBlob(reg, repo, l.blob);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha(l.blob), size: l.blob.length })),
  }));
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/v1`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
  expect(put.status).toBe(201);
  return { manifestDigest: sha(manifest), configDigest, chains: chainIds(layers.map((l) => sha(l.tar))), layerDigests: layers.map((l) => sha(l.blob)) };
}

/** A proxy in front of the registry counting GETs by path; paths in `stall` get 256 KiB then silence. */
function startProxy(target: TestRegistry) {
  const hits = new Map<string, number>();
  const stall = new Set<string>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const up = http.request({ host: '127.0.0.1', port: target.port, path, method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (!stall.has(path)) {
        upRes.pipe(res);
        return;
      }
      let sent = 0;
      upRes.on('data', (c: Buffer) => {
        if (sent >= 256 * 1024) return void upRes.destroy();
        sent += c.length;
        res.write(c);
      });
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  return new Promise<{ server: http.Server; host: string; hits: Map<string, number>; stall: Set<string> }>((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, hits, stall })),
  );
}

/** A node process pulling `ref` into the store at `root` with the built code. */
function childPull(root: string, ref: string): ChildProcess {
  const script = `import { pullImage } from '${DIST}/pull.js';
import { ImageStore } from '${DIST}/store.js';
pullImage(process.argv[2], { store: new ImageStore(process.argv[1]) }).then(
  (r) => { console.log(JSON.stringify(r)); },
  (e) => { console.error(e.code, e.message); process.exitCode = 1; });`;
  return spawn(process.execPath, ['--input-type=module', '-e', script, root, ref], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function waitExit(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out, err })));
}

const blobGets = (hits: Map<string, number>, repo: string, digest: string) => hits.get(`/v2/${repo}/blobs/${digest}`) ?? 0;

describeWith({ root: true, commands: ['docker-registry'] }, 'pullImage into the content-addressed store', () => {
  let reg: TestRegistry;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let tmp: string;
  let store: ImageStore;
  let base: Layer;
  let topA: Layer;
  let topB: Layer;
  const zstd = hasCommand('zstd');

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stack-pull-'));
    store = new ImageStore(join(tmp, 'store'));
    reg = await startRegistry();
    proxy = await startProxy(reg);
    base = compress(await makeTar({ 'etc/': '', 'etc/base.txt': 'base layer\n' }), 'gzip');
    topA = compress(await makeTar({ 'a.txt': 'image A\n' }), zstd ? 'zstd' : 'gzip');
    topB = compress(await makeTar({ 'b.txt': 'image B\n' }), 'none');
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((r) => {
      proxy?.server.closeAllConnections();
      proxy ? proxy.server.close(() => r()) : r();
    });
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('pulls image A: record written, each layer unpacked by ChainID with its files', async () => {
    const a = await pushImage(reg, 'stack/a', [base, topA]);
    const seen: PullProgress[] = [];
    const record = await pullImage(`${proxy.host}/stack/a:v1`, { store, onProgress: (e) => void seen.push(e) });
    const events = seen.flatMap((e) => (e.kind === 'layer' ? [e.state] : []));
    expect(record).toMatchObject({ name: `${proxy.host}/stack/a:v1`, digest: a.manifestDigest, manifestDigest: a.manifestDigest, configDigest: a.configDigest, layers: a.chains });
    expect(a.chains[0]).toBe(sha(base.tar)); // ChainID(L0) = DiffID(L0)
    expect(events.filter((s) => s === 'done')).toHaveLength(2);
    // Progress: sizes from the manifest, every layer waiting first, bytes counted, a final done each, then the image's.
    const total = base.blob.length + topA.blob.length;
    expect(seen[0]).toMatchObject({ kind: 'resolved', image: `${proxy.host}/stack/a:v1`, digest: a.manifestDigest, layers: 2, size: total });
    expect(events.slice(0, 2)).toEqual(['waiting', 'waiting']);
    for (const [i, l] of [base, topA].entries()) {
      const mine = seen.filter((e) => e.kind === 'layer' && e.digest === a.layerDigests[i]);
      expect(mine.map((e) => e.kind === 'layer' && e.state)).toEqual(['waiting', 'downloading', ...mine.slice(2, -1).map(() => 'downloading'), 'done']);
      expect(mine.at(-1)).toMatchObject({ chainId: a.chains[i], size: l.blob.length, downloaded: l.blob.length });
    }
    expect(seen.at(-1)).toMatchObject({ kind: 'done', digest: a.manifestDigest, layers: 2, size: total, downloadedLayers: 2, downloaded: total, upToDate: false });
    expect(readFileSync(join(store.layerDir(a.chains[0]!), 'etc/base.txt'), 'utf8')).toBe('base layer\n');
    expect(readFileSync(join(store.layerDir(a.chains[1]!), 'a.txt'), 'utf8')).toBe('image A\n');
    expect(readdirSync(store.layerDir(a.chains[1]!))).toEqual(['a.txt']);
    const onDisk = JSON.parse(readFileSync(store.recordPath(record.name), 'utf8')) as unknown;
    expect(onDisk).toEqual(record);
    expect(statSync(store.recordPath(record.name)).mode & 0o777).toBe(0o600);
    expect(statSync(join(store.root, 'images')).mode & 0o777).toBe(0o700);
    expect(sha(readFileSync(store.blobPath(a.configDigest)))).toBe(a.configDigest);
    expect(sha(readFileSync(store.blobPath(a.manifestDigest)))).toBe(a.manifestDigest);
    expect(await store.getRecord(record.name)).toEqual(record);
  });

  it('pulls image B without fetching the base layer it shares with A', async () => {
    const b = await pushImage(reg, 'stack/b', [base, topB]);
    const baseDir = store.layerDir(b.chains[0]!);
    const before = statSync(baseDir);
    const record = await pullImage(`${proxy.host}/stack/b:v1`, { store });
    expect(record.layers).toEqual(b.chains);
    expect(blobGets(proxy.hits, 'stack/b', b.layerDigests[0]!)).toBe(0);
    expect(blobGets(proxy.hits, 'stack/b', b.layerDigests[1]!)).toBe(1);
    const after = statSync(baseDir);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(readFileSync(join(store.layerDir(b.chains[1]!), 'b.txt'), 'utf8')).toBe('image B\n');
    expect((await store.listRecords()).map((r) => r.name).sort()).toEqual([`${proxy.host}/stack/a:v1`, `${proxy.host}/stack/b:v1`]);
    // Pulled again: up to date, every layer already exists, nothing downloaded.
    const again: PullProgress[] = [];
    await pullImage(`${proxy.host}/stack/b:v1`, { store, onProgress: (e) => void again.push(e) });
    expect(again.flatMap((e) => (e.kind === 'layer' ? [e.state] : []))).toEqual(['waiting', 'waiting', 'exists', 'exists']);
    expect(again.at(-1)).toMatchObject({ kind: 'done', downloadedLayers: 0, downloaded: 0, upToDate: true });
    expect(blobGets(proxy.hits, 'stack/b', b.layerDigests[1]!)).toBe(1);
  });

  it('two node processes pulling one image at once both succeed with one copy of each layer', async () => {
    const big = compress(await makeTar({ 'big.bin': randomBytes(4 << 20) }), 'gzip');
    const c = await pushImage(reg, 'stack/c', [base, big]);
    const ref = `${proxy.host}/stack/c:v1`;
    const results = await Promise.all([waitExit(childPull(store.root, ref)), waitExit(childPull(store.root, ref))]);
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    expect(results.map((r) => (JSON.parse(r.out) as { layers: string[] }).layers)).toEqual([c.chains, c.chains]);
    expect(blobGets(proxy.hits, 'stack/c', c.layerDigests[1]!)).toBe(1);
    const layers = readdirSync(join(store.root, 'layers'));
    expect(layers.filter((n) => n.includes('partial'))).toEqual([]);
    expect(layers.filter((n) => n === c.chains[1]!.slice(7))).toHaveLength(1);
    expect(statSync(join(store.layerDir(c.chains[1]!), 'big.bin')).size).toBe(4 << 20);
  }, 60_000);

  it('a pull SIGKILLed mid-layer leaves no layer folder; the next pull completes; cleanPartials removes the leftover', async () => {
    const big = compress(await makeTar({ 'huge.bin': randomBytes(8 << 20) }), 'none');
    const d = await pushImage(reg, 'stack/d', [base, big]);
    const path = `/v2/stack/d/blobs/${d.layerDigests[1]!}`;
    proxy.stall.add(path);
    const hex = d.chains[1]!.slice(7);
    const child = childPull(store.root, `${proxy.host}/stack/d:v1`);
    const exited = waitExit(child);
    try {
      await eventually('the partial folder of the stalled layer', () =>
        readdirSync(join(store.root, 'layers')).some((n) => n.startsWith(`${hex}.partial-`)) || undefined);
    } finally {
      process.kill(child.pid!, 'SIGKILL');
      await exited;
      proxy.stall.delete(path);
    }
    expect(existsSync(store.layerDir(d.chains[1]!))).toBe(false);
    expect(await store.getRecord(`${proxy.host}/stack/d:v1`)).toBeUndefined();
    const record = await pullImage(`${proxy.host}/stack/d:v1`, { store });
    for (const chain of record.layers) expect(statSync(store.layerDir(chain)).isDirectory()).toBe(true);
    expect(statSync(join(store.layerDir(d.chains[1]!), 'huge.bin')).size).toBe(8 << 20);
    const removed = await store.cleanPartials();
    expect(removed).toHaveLength(1);
    expect(removed[0]).toContain(`${hex}.partial-`);
    expect(readdirSync(join(store.root, 'layers')).filter((n) => n.includes('partial'))).toEqual([]);
  }, 60_000);

  it('a manifest corrupted on the registry fails naming the image, adding nothing', async () => {
    const e = await pushImage(reg, 'stack/e', [compress(await makeTar({ 'e.txt': 'e' }), 'gzip')]);
    const file = reg.blobPath(e.manifestDigest);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"schemaVersion":2', '"schemaVersion":2 '));
    const before = [readdirSync(join(store.root, 'layers')), readdirSync(join(store.root, 'images'))];
    const err = await pullImage(`${proxy.host}/stack/e:v1`, { store }).catch((x: unknown) => x);
    expect(err).toMatchObject({ name: 'UserError', code: 'MANIFEST_DIGEST_MISMATCH' });
    expect((err as Error).message).toContain(`${proxy.host}/stack/e:v1`);
    expect([readdirSync(join(store.root, 'layers')), readdirSync(join(store.root, 'images'))]).toEqual(before);
  });

  it('a layer blob corrupted on the registry fails naming the image and the layer, adding nothing', async () => {
    const layer = compress(await makeTar({ 'f.txt': 'f'.repeat(10_000) }), 'none');
    const f = await pushImage(reg, 'stack/f', [base, layer]);
    const file = reg.blobPath(f.layerDigests[1]!);
    const bytes = readFileSync(file);
    bytes[600] = bytes[600]! ^ 0xff; // inside f.txt's content: the tar still parses
    writeFileSync(file, bytes);
    const before = [readdirSync(join(store.root, 'layers')), readdirSync(join(store.root, 'images'))];
    const err = await pullImage(`${proxy.host}/stack/f:v1`, { store }).catch((x: unknown) => x);
    expect(err).toMatchObject({ name: 'UserError', code: 'BLOB_DIGEST_MISMATCH' });
    expect((err as Error).message).toContain(`${proxy.host}/stack/f:v1`);
    expect((err as Error).message).toContain(f.layerDigests[1]!);
    expect([readdirSync(join(store.root, 'layers')), readdirSync(join(store.root, 'images'))]).toEqual(before);
  });

  it('a layer blob with bytes past the end of its gzip (the tar ends first) fails BLOB_DIGEST_MISMATCH; nothing is left, no error comes later', async () => {
    const layer = compress(await makeTar({ 'g.txt': `g ${randomBytes(8).toString('hex')}\n`.repeat(500) }), 'gzip');
    const g = await pushImage(reg, 'stack/g', [layer]);
    const file = reg.blobPath(g.layerDigests[0]!);
    // gunzip ignores trailing zeros: the tar and its DiffID are right, only the blob digest is not.
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(256 * 1024)]));
    const unhandled: unknown[] = [];
    const onError = (e: unknown) => void unhandled.push(e);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    try {
      const err = await pullImage(`${proxy.host}/stack/g:v1`, { store }).catch((x: unknown) => x);
      expect(err).toMatchObject({ name: 'UserError', code: 'BLOB_DIGEST_MISMATCH' });
      expect((err as Error).message).toContain(`${proxy.host}/stack/g:v1`);
      expect((err as Error).message).toContain(g.layerDigests[0]!);
      const hex = g.chains[0]!.slice('sha256:'.length);
      expect(readdirSync(join(store.root, 'layers')).filter((n) => n.startsWith(hex) || n.includes('.partial-'))).toEqual([]);
      expect(await store.getRecord(`${proxy.host}/stack/g:v1`)).toBeUndefined();
      // A late stream error would surface as an uncaught exception within a few ticks.
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    }
  });
});

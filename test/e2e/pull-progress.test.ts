// `stack pull`'s progress through the real CLI (bin/stack.cjs over dist/: `npm run build` first)
// against a real docker-registry on 127.0.0.1: two images of two services pulled at once print
// exactly one line each when not on a TTY (and nothing else for them); `--progress json` prints one
// JSON object per line with per-layer byte counts; an unknown --progress value is refused; a layer
// whose blob does not match its digest fails that image only, naming it and the layer.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { imageStoreDir } from '../../src/image/paths.js';
import { stateRoots } from '../../src/state/paths.js';
import { pushBlob, startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';
import { makeTar } from '../harness/tar.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describeWith({ root: true, commands: ['docker-registry'] }, 'stack pull progress', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-pull-progress-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker'), CI: '' };
  const stack = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, env, reject: false });
  let reg: TestRegistry;
  const images: Record<string, { ref: string; manifestDigest: string; layers: { digest: string; size: number }[]; diffIds: string[] }> = {};

  /** Pushes `repo:v1` with one gzip layer per file map; returns its reference and digests. */
  async function push(repo: string, layers: Record<string, string>[]) {
    const tars = await Promise.all(layers.map((files) => makeTar(Object.entries(files).map(([name, body]) => ({ header: { name, mode: 0o644 }, body })))));
    const blobs = tars.map((t) => gzipSync(t));
    const { os, architecture } = hostPlatform();
    const config = Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: tars.map(sha) } }));
    const configDigest = await pushBlob(reg, repo, config);
    for (const b of blobs) await pushBlob(reg, repo, b);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(b), size: b.length })),
    }));
    const put = await fetch(`${reg.url}/v2/${repo}/manifests/v1`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
    expect(put.status).toBe(201);
    return { ref: `${reg.host}/${repo}:v1`, manifestDigest: sha(manifest), layers: blobs.map((b) => ({ digest: sha(b), size: b.length })), diffIds: tars.map(sha) };
  }

  /** A project folder whose services name `refs`. */
  function project(name: string, services: Record<string, string>): string {
    const p = join(dir, name);
    mkdirSync(p);
    const lines = [`name: pp${randomBytes(3).toString('hex')}`, 'services:'];
    for (const [service, ref] of Object.entries(services)) lines.push(`  ${service}:`, `    image: ${ref}`);
    writeFileSync(join(p, 'compose.yaml'), lines.join('\n') + '\n');
    return p;
  }

  beforeAll(async () => {
    reg = await startRegistry();
    images.web = await push('pp/web', [{ 'web.txt': `web ${randomBytes(4).toString('hex')}\n` }, { 'app.txt': randomBytes(20_000).toString('hex') }]);
    images.db = await push('pp/db', [{ 'db.txt': `db ${randomBytes(4).toString('hex')}\n` }]);
    images.json = await push('pp/json', [{ 'j.txt': randomBytes(50_000).toString('base64') }]);
    images.bad = await push('pp/bad', [{ 'bad.txt': 'bad\n'.repeat(1000) }]);
    // Bytes past the gzip's end: the tar and its DiffID are fine, the blob's digest is not.
    const file = reg.blobPath(images.bad.layers[0]!.digest);
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(64 * 1024)]));
  }, 60_000);

  afterAll(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two images pulled at once: exactly one line per image, nothing else about them', async () => {
    const p = project('two', { web: images.web!.ref, db: images.db!.ref, worker: images.web!.ref });
    const r = await stack(p, 'pull');
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const key of ['web', 'db']) {
      const img = images[key]!;
      const n = img.layers.length;
      expect(lines.filter((l) => l.includes(img.ref))).toEqual([
        expect.stringMatching(new RegExp(`^${esc(img.ref)}: pulled ${esc(img.manifestDigest.slice(0, 19))} \\(${n} layers?, [0-9.]+k?B, \\d+\\.\\d s\\)$`)),
      ]);
    }
    expect(r.stdout).toBe('');
  });

  it('--progress json: one JSON object per line, layer bytes counted up to the blob size, then pull-done', async () => {
    const p = project('json', { j: images.json!.ref });
    const r = await stack(p, 'pull', '--progress', 'json');
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const layer = images.json!.layers[0]!;
    expect(events[0]).toMatchObject({ type: 'pull', kind: 'resolved', image: images.json!.ref, layers: 1, size: layer.size });
    const layerEvents = events.filter((e) => e.kind === 'layer');
    expect(layerEvents[0]).toMatchObject({ state: 'waiting', digest: layer.digest, size: layer.size, downloaded: 0 });
    expect(layerEvents.at(-1)).toMatchObject({ state: 'done', digest: layer.digest, downloaded: layer.size });
    expect(events.at(-1)).toMatchObject({ type: 'pull-done', image: images.json!.ref, digest: images.json!.manifestDigest, layers: 1, size: layer.size, upToDate: false });
  });

  it('refuses an unknown --progress value', async () => {
    const p = project('badmode', { j: images.json!.ref });
    const r = await stack(p, 'pull', '--progress', 'fancy');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('unknown --progress fancy');
  });

  it('a blob that does not match its digest fails that image only, naming it and the layer, leaving no layer', async () => {
    const p = project('bad', { bad: images.bad!.ref, db: images.db!.ref });
    const r = await stack(p, 'pull');
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith(`${images.db!.ref}: `))).toEqual([expect.stringMatching(/: (pulled sha256:|up to date$)/)]);
    const failed = lines.filter((l) => l.startsWith(`${images.bad!.ref}: failed: `));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(images.bad!.layers[0]!.digest);
    const thrown = lines.find((l) => l.startsWith('stack: service bad: '));
    expect(thrown, r.stderr).toContain(images.bad!.ref);
    expect(thrown).toContain(images.bad!.layers[0]!.digest);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const layers = readdirSync(join(imageStoreDir(stateRoots({ STACK_ROOT: state })), 'layers'));
    expect(layers.filter((n) => n.includes('.partial-'))).toEqual([]);
    // A one-layer image's ChainID is its DiffID: no folder for it.
    expect(layers).not.toContain(images.bad!.diffIds[0]!.slice('sha256:'.length));
  });
});

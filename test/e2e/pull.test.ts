// `stack pull` and `stack images` through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first) against a real docker-registry on 127.0.0.1 with an image pushed by hand: pull fills the
// store (record, layers with their files) printing one line for the image, a second pull is up to
// date and downloads no layer,
// images lists it (project and store-wide), an unknown tag fails naming service and image without
// a stack trace, --ignore-pull-failures turns that into a warning, build-only services are skipped.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { chainIds, ImageStore } from '../../src/image/store.js';
import { imageStoreDir } from '../../src/image/paths.js';
import { stateRoots } from '../../src/state/paths.js';
import { pushBlob, startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function makeTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, body] of Object.entries(files)) {
    await new Promise<void>((res, rej) => pack.entry({ name, mode: 0o644, mtime: new Date(1_600_000_000_000) }, body, (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describeWith({ root: true, commands: ['docker-registry'] }, 'stack pull / stack images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-pull-e2e-'));
  const projectDir = join(dir, 'project');
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  const stack = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, env, reject: false });
  let reg: TestRegistry;
  let image: { ref: string; configDigest: string; manifestDigest: string; chains: string[] };

  beforeAll(async () => {
    reg = await startRegistry();
    const layerTar = await makeTar({ 'hello.txt': 'hello from the registry\n' });
    const blob = gzipSync(layerTar);
    const { os, architecture } = hostPlatform();
    const config = Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: [sha(layerTar)] } }));
    const configDigest = await pushBlob(reg, 'e2e/pg', config);
    await pushBlob(reg, 'e2e/pg', blob);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(blob), size: blob.length }],
    }));
    const put = await fetch(`${reg.url}/v2/e2e/pg/manifests/16`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
    expect(put.status).toBe(201);
    image = { ref: `${reg.host}/e2e/pg:16`, configDigest, manifestDigest: sha(manifest), chains: chainIds([sha(layerTar)]) };
    mkdirSync(projectDir);
    writeFileSync(join(projectDir, 'compose.yaml'), [
      `name: pl${randomBytes(3).toString('hex')}`,
      'services:',
      '  db:',
      `    image: ${image.ref}`,
      '  replica:',
      `    image: ${image.ref}`,
      '  app:',
      '    build: .',
      '',
    ].join('\n'));
  }, 60_000);

  afterAll(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls the image once for the two services that name it; the store has the record and the layer', async () => {
    const r = await stack(projectDir, 'pull');
    const short = image.manifestDigest.slice(0, 'sha256:'.length + 12);
    expect(r.stderr.split('\n').filter((l) => l.startsWith(image.ref))).toEqual([
      expect.stringMatching(new RegExp(`^${image.ref.replace(/[.]/g, '\\.')}: pulled ${short} \\(1 layer, \\d+B, \\d+\\.\\d s\\)$`)),
    ]);
    expect(r.stderr).toMatch(/app: skipped/);
    expect(r.exitCode).toBe(0);
    const store = new ImageStore(imageStoreDir(stateRoots({ STACK_ROOT: state })));
    const record = await store.getRecord(`${image.ref}`);
    expect(record?.configDigest).toBe(image.configDigest);
    expect(record?.layers).toEqual(image.chains);
    expect(readFileSync(join(store.layerDir(image.chains[0]!), 'hello.txt'), 'utf8')).toBe('hello from the registry\n');
  });

  it("--include-deps pulls what the named services depend on too; --ignore-buildable skips a service with build:", async () => {
    // the same image under a second tag, for a dependent that names it
    const manifest = await fetch(`${reg.url}/v2/e2e/pg/manifests/16`, { headers: { Accept: OCI_MANIFEST } });
    const put = await fetch(`${reg.url}/v2/e2e/pg/manifests/17`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: Buffer.from(await manifest.arrayBuffer()) });
    expect(put.status).toBe(201);
    const deps = join(dir, 'deps');
    mkdirSync(deps);
    const other = `${reg.host}/e2e/pg:17`;
    writeFileSync(join(deps, 'compose.yaml'), ['services:', '  db:', `    image: ${image.ref}`, '  web:', `    image: ${other}`, '    depends_on: [db]', '  tool:', `    image: ${other}`, '    build: .', ''].join('\n'));
    const refs = (stderr: string) => stderr.split('\n').map((l) => l.split(': ')[0] ?? '').filter((r) => r.startsWith(reg.host)).sort();
    expect(refs((await stack(deps, 'pull', 'web')).stderr)).toEqual([other]);
    const withDeps = await stack(deps, 'pull', '--include-deps', 'web');
    expect(refs(withDeps.stderr), withDeps.stderr).toEqual([image.ref, other].sort());
    expect(refs((await stack(deps, 'pull', '--ignore-buildable', 'tool')).stderr)).toEqual([]);
    expect(refs((await stack(deps, 'pull', 'tool')).stderr)).toEqual([other]);
  });

  it('a second pull is up to date and downloads no layer; --policy missing pulls nothing that is stored', async () => {
    const r = await stack(projectDir, 'pull', 'db');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(`${image.ref}: up to date`);
    const m = await stack(projectDir, 'pull', '--policy', 'missing');
    expect(m.exitCode).toBe(0);
    expect(m.stderr).toContain(`${image.ref}: in the store, not pulled (--policy missing)`);
    expect(m.stderr).not.toContain('pulled sha256');
    const q = await stack(projectDir, 'pull', '-q');
    expect(q.exitCode).toBe(0);
    expect(q.stderr).toBe('');
  });

  it('images lists the project\'s image, and every stored one without a spec file', async () => {
    const short = image.configDigest.slice('sha256:'.length, 'sha256:'.length + 12);
    const t = await stack(projectDir, 'images');
    expect(t.exitCode).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${reg.host}/e2e/pg\\s+16\\s+${short}\\s+24B$`));
    const j = await stack(projectDir, 'images', '--format', 'json');
    const rows = JSON.parse(j.stdout) as { repository: string; tag: string; id: string; services: string[]; size: number }[];
    expect(rows).toEqual([expect.objectContaining({ repository: `${reg.host}/e2e/pg`, tag: '16', id: image.configDigest, services: ['db', 'replica'], size: 24 })]);
    expect((await stack(projectDir, 'images', '-q')).stdout).toBe(short);
    // Named services only (compose's images SERVICE...): app is built, it has no image in the store.
    const one = JSON.parse((await stack(projectDir, 'images', '--format', 'json', 'replica')).stdout) as { services: string[] }[];
    expect(one.map((r) => r.services)).toEqual([['replica']]);
    expect((await stack(projectDir, 'images', '-q', 'app')).stdout).toBe('');
    const unknown = await stack(projectDir, 'images', 'dbb');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/no service "dbb"[\s\S]*did you mean "db"\?/);
    const nowhere = join(dir, 'empty');
    mkdirSync(nowhere, { recursive: true });
    const all = await stack(nowhere, 'images', '-q');
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toBe(short);
  });

  it('an unknown tag fails naming the service and the image, with no stack trace; --ignore-pull-failures exits 0', async () => {
    const other = join(dir, 'missing');
    mkdirSync(other);
    const ref = `${reg.host}/e2e/pg:nope`;
    writeFileSync(join(other, 'compose.yaml'), `services:\n  web:\n    image: ${ref}\n`);
    const r = await stack(other, 'pull');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`stack: service web: .*${ref.replace(/[.]/g, '\\.')}.* was not found`));
    expect(r.stderr).toContain(`${ref}: failed: service web: `);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const store = new ImageStore(imageStoreDir(stateRoots({ STACK_ROOT: state })));
    expect(await store.getRecord(ref)).toBeUndefined();
    const ignored = await stack(other, 'pull', '--ignore-pull-failures');
    expect(ignored.exitCode).toBe(0);
    expect(ignored.stderr).toMatch(new RegExp(`^${ref.replace(/[.]/g, '\\.')}: failed: service web: .* was not found`));
    expect(ignored.stderr).not.toContain('stack:');
  });
});

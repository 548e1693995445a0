// The distribution client against a real registry (Debian's docker-registry on 127.0.0.1): an
// image pushed by hand, manifest and blob fetched and verified, a blob corrupted on the
// registry's disk, an unknown tag, Basic auth, a cross-host redirect that must not carry the
// Authorization header, a registry that never answers and one that is not there.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { pushBlob, startRegistry, type TestRegistry } from '../../harness/registry.js';
import { RegistryClient } from '../../../src/image/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** Pushes a config and a layer blob and an OCI manifest naming them under `tag`. */
async function pushImage(reg: TestRegistry, repo: string, tag: string, layer: Buffer, auth?: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const configDigest = await pushBlob(reg, repo, config, auth);
  const layerDigest = await pushBlob(reg, repo, layer, auth);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': OCI_MANIFEST, ...(auth ? { Authorization: auth } : {}) },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return { manifest, manifestDigest: sha(manifest), layerDigest, configDigest };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP server on 127.0.0.1 at a port of its own. */
async function listen(handler: http.RequestListener): Promise<{ server: http.Server; host: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, host: `127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

const close = (s: net.Server) => new Promise<void>((r) => {
  (s as http.Server).closeAllConnections?.();
  s.close(() => r());
});

describeWith({ commands: ['docker-registry', 'htpasswd'] }, 'registry client against docker-registry', () => {
  let open: TestRegistry;
  let locked: TestRegistry;
  const layer = Buffer.from('a tiny layer: not a tar, the registry does not care\n'.repeat(100));

  beforeAll(async () => {
    open = await startRegistry();
    locked = await startRegistry({ auth: { username: 'alice', password: 's3cret pass' } });
  });
  afterAll(async () => {
    await open?.stop();
    await locked?.stop();
  });

  it('fetches a pushed manifest and blob, digests checked', async () => {
    const pushed = await pushImage(open, 'stack/tiny', 'v1', layer);
    const client = new RegistryClient({ registry: open.host });
    const m = await client.getManifest('stack/tiny', 'v1', [OCI_MANIFEST]);
    expect(m.digest).toBe(pushed.manifestDigest);
    expect(m.mediaType).toBe(OCI_MANIFEST);
    expect(m.bytes.equals(pushed.manifest)).toBe(true);
    const byDigest = await client.getManifest('stack/tiny', pushed.manifestDigest, [OCI_MANIFEST]);
    expect(byDigest.digest).toBe(pushed.manifestDigest);
    const blob = await readAll(await client.getBlob('stack/tiny', pushed.layerDigest));
    expect(blob.equals(layer)).toBe(true);
  });

  it('fails a blob whose bytes were corrupted on the registry disk with BLOB_DIGEST_MISMATCH', async () => {
    const own = Buffer.from(`a layer to corrupt ${Math.random()}\n`.repeat(50));
    const digest = await pushBlob(open, 'stack/corrupt', own);
    const file = open.blobPath(digest);
    const onDisk = readFileSync(file);
    expect(onDisk.equals(own)).toBe(true);
    onDisk[10] = onDisk[10]! ^ 0xff;
    writeFileSync(file, onDisk);
    const client = new RegistryClient({ registry: open.host });
    const counts: number[] = [];
    const stream = await client.getBlob('stack/corrupt', digest, `${open.host}/stack/corrupt:v1`, { onBytes: (n) => void counts.push(n) });
    let ended = false;
    stream.on('end', () => (ended = true));
    const err = await readAll(stream).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
    // The mismatch is the stream's error in place of its end, after every byte was counted.
    expect(ended).toBe(false);
    expect(counts.at(-1)).toBe(own.length);
    expect((err as Error).message).toContain(digest);
    expect((err as Error).message).toContain(`${open.host}/stack/corrupt:v1`);
  });

  it('says IMAGE_NOT_FOUND naming image:tag for an unknown tag', async () => {
    const client = new RegistryClient({ registry: open.host });
    const err = await client.getManifest('stack/nothing', 'nope', [OCI_MANIFEST]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect((err as Error).message).toContain(`${open.host}/stack/nothing:nope`);
  });

  it('pulls from a Basic-auth registry with credentials, REGISTRY_AUTH without or with wrong ones', async () => {
    const pushed = await pushImage(locked, 'stack/private', 'v1', layer, basic('alice', 's3cret pass'));
    const good = new RegistryClient({ registry: locked.host, credentials: { username: 'alice', password: 's3cret pass' } });
    expect((await good.getManifest('stack/private', 'v1', [OCI_MANIFEST])).digest).toBe(pushed.manifestDigest);
    expect((await readAll(await good.getBlob('stack/private', pushed.layerDigest))).equals(layer)).toBe(true);

    const anonymous = new RegistryClient({ registry: locked.host });
    const e1 = await anonymous.getManifest('stack/private', 'v1', [OCI_MANIFEST]).catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e1 as Error).message).toContain(locked.host);
    const wrong = new RegistryClient({ registry: locked.host, credentials: { username: 'alice', password: 'wrong' } });
    const e2 = await wrong.getBlob('stack/private', pushed.layerDigest).catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e2 as { hint?: string }).hint).toMatch(/user name and password/);
  });

  it('sends no Authorization on a redirect to another host', async () => {
    const pushed = await pushImage(open, 'stack/redirected', 'v1', layer);
    // The storage host: records what arrives, then sends the client on to the real registry.
    const seenAtStorage: (string | undefined)[] = [];
    const storage = await listen((req, res) => {
      seenAtStorage.push(req.headers.authorization);
      res.writeHead(307, { Location: `${open.url}${req.url}` }).end();
    });
    // The registry the client names: demands Basic auth, then redirects blobs to the storage host.
    const seenAtFront: (string | undefined)[] = [];
    const front = await listen((req, res) => {
      seenAtFront.push(req.headers.authorization);
      if (req.headers.authorization !== basic('bob', 'pw')) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="front"' }).end();
        return;
      }
      res.writeHead(307, { Location: `http://${storage.host}${req.url}` }).end();
    });
    try {
      const client = new RegistryClient({ registry: front.host, credentials: { username: 'bob', password: 'pw' } });
      const blob = await readAll(await client.getBlob('stack/redirected', pushed.layerDigest));
      expect(blob.equals(layer)).toBe(true);
      expect(seenAtFront).toEqual([undefined, basic('bob', 'pw')]);
      expect(seenAtStorage).toEqual([undefined]);
    } finally {
      await close(storage.server);
      await close(front.server);
    }
  });

  it('gives REGISTRY_TIMEOUT for a registry that accepts and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const host = `127.0.0.1:${(hung.address() as net.AddressInfo).port}`;
    try {
      const client = new RegistryClient({ registry: host, timeoutMs: 300 });
      const err = await client.getManifest('stack/hung', 'v1', [OCI_MANIFEST]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REGISTRY_TIMEOUT' });
      expect((err as Error).message).toContain(`${host}/stack/hung:v1`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  it('gives REGISTRY_UNREACHABLE when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new RegistryClient({ registry: `127.0.0.1:${port}` });
    const err = await client.getManifest('stack/gone', 'v1', [OCI_MANIFEST]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REGISTRY_UNREACHABLE' });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });
});

// The Bearer token flow against a real registry in token-auth mode (Debian's docker-registry on
// 127.0.0.1, `auth: token:` with a rootcertbundle) and the test token server: a hand-pushed image
// pulled through the challenge, wrong credentials, anonymous access, a token answer with only
// `access_token`, a token stale by its expires_in, and one the registry refuses as expired.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { pushBlob, startRegistry, type TestRegistry } from '../../harness/registry.js';
import { startTokenServer, type TestTokenServer } from '../../harness/token-server.js';
import { RegistryClient } from '../../../src/image/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const USER = 'bob';
const PASSWORD = 'tok en:pw';
const REPO = 'team/app';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describeWith({ commands: ['docker-registry', 'openssl'] }, 'Bearer token auth against docker-registry', () => {
  let tokens: TestTokenServer;
  let reg: TestRegistry;
  let pushed: { manifest: Buffer; manifestDigest: string; layer: Buffer; layerDigest: string };
  const client = () => new RegistryClient({ registry: reg.host, credentials: { username: USER, password: PASSWORD } });

  beforeAll(async () => {
    tokens = await startTokenServer({ [USER]: PASSWORD });
    reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootcertbundle: tokens.rootCertBundle } });
    // Push by hand with a push-scoped token the test asks the token server for over HTTP.
    const res = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:${REPO}:pull,push`, { headers: { Authorization: basic(USER, PASSWORD) } });
    expect(res.status).toBe(200);
    const auth = { Authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
    const layer = Buffer.from('token-auth layer bytes\n'.repeat(50));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
    const configDigest = await pushBlob(reg, REPO, config, auth.Authorization);
    const layerDigest = await pushBlob(reg, REPO, layer, auth.Authorization);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
      }),
    );
    const put = await fetch(`${reg.url}/v2/${REPO}/manifests/v1`, { method: 'PUT', headers: { ...auth, 'Content-Type': OCI_MANIFEST }, body: manifest });
    expect(put.status).toBe(201);
    pushed = { manifest, manifestDigest: sha(manifest), layer, layerDigest };
  });

  afterAll(async () => {
    await reg?.stop();
    await tokens?.stop();
  });

  it('answers the registry without a token with a Bearer challenge naming the token server', async () => {
    const res = await fetch(`${reg.url}/v2/${REPO}/manifests/v1`);
    await res.arrayBuffer();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(`Bearer realm="${tokens.realm}"`);
  });

  it('pulls the manifest and the blob through the Bearer flow, one token for both', async () => {
    tokens.answer = { field: 'both', expiresIn: 300, lifetime: 300 };
    const before = tokens.requests;
    const c = client();
    const m = await c.getManifest(REPO, 'v1', [OCI_MANIFEST]);
    expect(m.bytes.equals(pushed.manifest)).toBe(true);
    expect(m.digest).toBe(pushed.manifestDigest);
    expect((await readAll(await c.getBlob(REPO, pushed.layerDigest))).equals(pushed.layer)).toBe(true);
    expect(tokens.requests - before).toBe(1);
  });

  it('refuses wrong credentials with REGISTRY_AUTH naming the registry', async () => {
    const c = new RegistryClient({ registry: reg.host, credentials: { username: USER, password: 'wrong' } });
    const err = await c.getManifest(REPO, 'v1', [OCI_MANIFEST]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((err as Error).message).toContain(reg.host);
  });

  it('refuses anonymous access (a token without access) with REGISTRY_AUTH', async () => {
    const c = new RegistryClient({ registry: reg.host });
    const err = await c.getManifest(REPO, 'v1', [OCI_MANIFEST]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((err as Error).message).toContain(reg.host);
  });

  it('takes a token answer with only access_token', async () => {
    tokens.answer = { field: 'access_token', expiresIn: 300, lifetime: 300 };
    const m = await client().getManifest(REPO, 'v1', [OCI_MANIFEST]);
    expect(m.digest).toBe(pushed.manifestDigest);
  });

  it('fetches a token again once its expires_in has passed', async () => {
    // expires_in 1: the client renews 5 s early, so the token is stale at once.
    tokens.answer = { field: 'token', expiresIn: 1, lifetime: 300 };
    const c = client();
    const before = tokens.requests;
    await c.getManifest(REPO, 'v1', [OCI_MANIFEST]);
    expect(tokens.requests - before).toBe(1);
    expect((await readAll(await c.getBlob(REPO, pushed.layerDigest))).equals(pushed.layer)).toBe(true);
    expect(tokens.requests - before).toBe(2);
  });

  it('fetches a token again when the registry refuses the cached one as expired', async () => {
    // A JWT whose exp is past distribution's 60 s leeway, though expires_in says it is good.
    tokens.answer = { field: 'both', expiresIn: 300, lifetime: -120 };
    const c = client();
    const before = tokens.requests;
    await expect(c.getManifest(REPO, 'v1', [OCI_MANIFEST])).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    expect(tokens.requests - before).toBe(1);
    tokens.answer = { field: 'both', expiresIn: 300, lifetime: 300 };
    const m = await c.getManifest(REPO, 'v1', [OCI_MANIFEST]);
    expect(m.digest).toBe(pushed.manifestDigest);
    expect(tokens.requests - before).toBe(2);
  });
});

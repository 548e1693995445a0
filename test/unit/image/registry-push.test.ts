// RegistryClient's push side against registries played by node http servers on 127.0.0.1, where a
// real registry cannot be made to do what is tested: an upload location on another host gets
// the bytes without the registry's credentials; a blob the registry has (a redirect to its
// storage too) is not sent; a mount asks pull access to its source and falls back to an upload
// when refused; a refused upload, a refused push and a body that fails are UserErrors that say so.
import http from 'node:http';
import { Readable } from 'node:stream';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { RegistryClient } from '../../../src/image/registry.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A server on 127.0.0.1 answering with `answer`; what it was sent, in order. */
async function serve(answer: (req: Seen, res: http.ServerResponse) => void): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      answer(entry, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const BASIC = `Basic ${Buffer.from('me:secret').toString('base64')}`;

describe('RegistryClient push', () => {
  it('sends an upload whose location is another host there without the credentials, and says it was uploaded', async () => {
    const storage = await serve((_req, res) => res.writeHead(201).end());
    const registry = await serve((req, res) => {
      if (req.authorization !== BASIC) return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') return void res.writeHead(202, { Location: `http://${storage.host}/upload/1?sig=x` }).end();
      res.writeHead(500).end();
    });
    const client = new RegistryClient({ registry: registry.host, credentials: { username: 'me', password: 'secret' } });
    expect(await client.pushBlob('team/app', DIGEST, 5, () => Buffer.from('bytes'), 'team/app:1')).toBe('uploaded');
    expect(storage.seen).toEqual([{ method: 'PUT', url: `/upload/1?sig=x&digest=${encodeURIComponent(DIGEST)}`, authorization: undefined, body: 'bytes' }]);
    expect(registry.seen.map((s) => `${s.method} ${s.url} ${s.authorization === BASIC ? 'auth' : 'none'}`)).toEqual([
      `HEAD /v2/team/app/blobs/${DIGEST} none`,
      `HEAD /v2/team/app/blobs/${DIGEST} auth`,
      'POST /v2/team/app/blobs/uploads/ auth',
    ]);
  });

  it('sends nothing of a blob the registry has, and mounts one from another repository when the registry takes it', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(req.url.includes('/there/') ? 200 : 404).end();
      if (req.method === 'POST' && req.url.includes('mount=')) return void res.writeHead(201).end();
      res.writeHead(500).end();
    });
    const client = new RegistryClient({ registry: registry.host });
    const body = () => {
      throw new Error('the body was asked for');
    };
    expect(await client.pushBlob('there/app', DIGEST, 5, body, 'there/app:1')).toBe('existed');
    expect(await client.pushBlob('team/app', DIGEST, 5, body, 'team/app:1', 'library/base')).toBe('mounted');
    expect(registry.seen.at(-1)).toMatchObject({ method: 'POST', url: `/v2/team/app/blobs/uploads/?mount=${encodeURIComponent(DIGEST)}&from=library%2Fbase` });
  });

  it('takes a redirect answering the look for a blob (storage that serves blobs) as the blob being there', async () => {
    const registry = await serve((req, res) => res.writeHead(req.method === 'HEAD' ? 307 : 500, { Location: 'http://127.0.0.1:9/elsewhere' }).end());
    const client = new RegistryClient({ registry: registry.host });
    expect(await client.pushBlob('team/app', DIGEST, 5, () => Buffer.from('bytes'), 'team/app:1')).toBe('existed');
    expect(registry.seen.map((s) => s.method)).toEqual(['HEAD']);
  });

  it('asks a token with pull access to the mount\'s source too, and uploads the blob when the mount is refused', async () => {
    const scopes: string[][] = [];
    const tokens = await serve((req, res) => {
      scopes.push(new URL(req.url, 'http://x').searchParams.getAll('scope'));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"token":"t1"}');
    });
    const registry = await serve((req, res) => {
      if (req.authorization !== 'Bearer t1') return void res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${tokens.host}/token",service="test"` }).end();
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST' && req.url.includes('mount=')) return void res.writeHead(403).end();
      if (req.method === 'POST') return void res.writeHead(202, { Location: '/v2/team/app/blobs/uploads/u2' }).end();
      if (req.method === 'PUT') return void res.writeHead(201).end();
      res.writeHead(500).end();
    });
    const client = new RegistryClient({ registry: registry.host });
    expect(await client.pushBlob('team/app', DIGEST, 5, () => Buffer.from('bytes'), 'team/app:1', 'library/base')).toBe('uploaded');
    expect(scopes).toContainEqual(['repository:team/app:pull,push', 'repository:library/base:pull']);
    expect(registry.seen.filter((s) => s.authorization === 'Bearer t1').map((s) => `${s.method} ${s.url.split('?')[0]} ${s.body}`)).toEqual([
      `HEAD /v2/team/app/blobs/${DIGEST} `,
      'POST /v2/team/app/blobs/uploads/ ',
      'POST /v2/team/app/blobs/uploads/ ',
      'PUT /v2/team/app/blobs/uploads/u2 bytes',
    ]);
  });

  it('fails an upload whose bytes cannot be read with the reading\'s own error, not as a network failure', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') return void res.writeHead(202, { Location: '/v2/team/app/blobs/uploads/u3' }).end();
      res.writeHead(201).end();
    });
    const client = new RegistryClient({ registry: registry.host });
    const source = () =>
      Readable.from(
        (async function* () {
          yield Buffer.from('by');
          throw new UserError('BLOB_NOT_FOUND', 'blob X of other/base:1 was not found on other.example', 'push it again');
        })(),
      );
    const failed = await client.pushBlob('team/app', DIGEST, 5, source, 'team/app:1').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UserError);
    expect((failed as UserError).message).toBe('blob X of other/base:1 was not found on other.example');
  });

  it('fails with a UserError when the registry refuses the bytes (another digest) or the push itself', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') return void res.writeHead(202, { Location: '/v2/team/app/blobs/uploads/u1' }).end();
      if (req.method === 'PUT' && req.url.includes('/blobs/')) return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
      res.writeHead(403).end();
    });
    const client = new RegistryClient({ registry: registry.host });
    const bad = await client.pushBlob('team/app', DIGEST, 5, () => Buffer.from('bytes'), `${registry.host}/team/app:1`).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UserError);
    expect((bad as UserError).message).toBe(`${registry.host} answered HTTP 400 to the upload of blob ${DIGEST} for ${registry.host}/team/app:1`);
    expect((bad as UserError).hint).toContain('refused what was sent');
    const refused = await client.putManifest('team/app', '1', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}'), `${registry.host}/team/app:1`).catch((e: unknown) => e);
    expect((refused as UserError).code).toBe('REGISTRY_AUTH');
    expect((refused as UserError).message).toBe(`${registry.host} refused to let ${registry.host}/team/app:1 be pushed (HTTP 403)`);
  });
});

// RegistryClient's push side against registries played by node http servers on 127.0.0.1, where a
// real registry cannot be made to do what is tested: an upload location on another host gets
// the bytes without the registry's credentials; a blob the registry has is not sent; a refused
// upload (the registry found another digest) and a refused push are UserErrors that say so.
import http from 'node:http';
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

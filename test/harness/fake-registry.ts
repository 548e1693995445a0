// A misbehaving registry for tests (node http on 127.0.0.1 at a free port), where a real one
// cannot be made to misbehave: every request answered with one status (a 500 everywhere), every
// connection accepted and never answered (a hang), or the OCI v2 endpoints (`GET /v2/`, manifests,
// blobs) serving fixed manifest bytes for any tag or digest asked (bytes that need not match the
// digest a reference names) and 404 for blobs.
import http from 'node:http';
import type net from 'node:net';

/** How the fake registry misbehaves. */
export type FakeRegistryBehaviour =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'manifest'; readonly bytes: Buffer; readonly mediaType: string };

/** A running fake registry. */
export interface FakeRegistry {
  /** `127.0.0.1:PORT`, as an image reference names it. */
  readonly host: string;
  /** Requests received so far, as `METHOD path`. */
  readonly requests: string[];
  /** Drops every connection (a hung one too) and closes the server. */
  stop(): Promise<void>;
}

/** Starts a fake registry that behaves as `behaviour` says. */
export async function startFakeRegistry(behaviour: FakeRegistryBehaviour): Promise<FakeRegistry> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    if (behaviour.kind === 'hang') return; // the connection stays open, unanswered
    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.status, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"fake registry failure"}]}');
      return;
    }
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' }).end('{}');
    } else if (/^\/v2\/.+\/manifests\/[^/]+$/.test(path) && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': behaviour.mediaType, 'Content-Length': String(behaviour.bytes.length) }).end(req.method === 'GET' ? behaviour.bytes : undefined);
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

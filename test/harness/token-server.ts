// A small Docker token server for tests (node http on 127.0.0.1): GET /token?service=&scope=
// answers a JWT signed RS256 with a key whose self-signed certificate openssl makes in a temp
// dir; the JWT header carries that certificate in `x5c`, which distribution verifies against its
// `rootcertbundle`. Claims as distribution's token access controller checks them: iss = issuer,
// aud = service, exp/nbf/iat, jti, access [{type, name, actions}]. Basic credentials of a known
// user grant the actions asked; anonymous requests get a token with no access; wrong ones a 401.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** How the next token answers look; tests change it between requests. */
export interface TokenAnswerOptions {
  /** Which field carries the token: `token`, `access_token` or both (the default). */
  field: 'token' | 'access_token' | 'both';
  /** `expires_in` sent (seconds); undefined leaves it out. */
  expiresIn?: number;
  /** The JWT's own lifetime from now in seconds (negative: already expired for the registry). */
  lifetime: number;
}

/** A running token server. */
export interface TestTokenServer {
  /** The realm URL a registry names in its Bearer challenge. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the signing certificate, for the registry's rootcertbundle. */
  rootCertBundle: string;
  /** Token requests received so far. */
  requests: number;
  /** The answer the next requests get. */
  answer: TokenAnswerOptions;
  /** A token for `scope` granted to `username` without HTTP (for a test that pushes by hand). */
  issue(username: string, scopes: string[]): string;
  /** Closes the server and removes the key and certificate. */
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** `repository:name:pull,push` as an access entry; undefined when malformed. */
function accessOf(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

/** Starts a token server for `users` (name → password). */
export async function startTokenServer(users: Record<string, string>, service = 'stack-test-registry', issuer = 'stack-test-issuer'): Promise<TestTokenServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-token-'));
  let server: http.Server | undefined;
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=stack-test-token'], { stdio: 'pipe' });
    const key: KeyObject = createPrivateKey(readFileSync(keyFile));
    const certDer = readFileSync(certFile, 'utf8').replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const jwt = (subject: string, scopes: string[], lifetime: number) => {
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
      const claims = {
        iss: issuer,
        sub: subject,
        aud: service,
        exp: now + lifetime,
        nbf: now - 1,
        iat: now,
        jti: randomBytes(12).toString('hex'),
        access: subject ? scopes.map(accessOf).filter((a) => a !== undefined) : [],
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      return `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
    };
    const state: TestTokenServer = {
      realm: '',
      service,
      issuer,
      rootCertBundle: certFile,
      requests: 0,
      answer: { field: 'both', expiresIn: 300, lifetime: 300 },
      issue: (username, scopes) => jwt(username, scopes, 300),
      stop: async () => {
        server!.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
    server = http.createServer((req, res) => {
      state.requests++;
      const url = new URL(req.url ?? '/', 'http://x');
      const authz = req.headers.authorization ?? '';
      let subject = '';
      if (authz.startsWith('Basic ')) {
        const decoded = Buffer.from(authz.slice(6), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const [name, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
        if (colon <= 0 || users[name] === undefined || users[name] !== password) {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
          return;
        }
        subject = name;
      }
      if (url.pathname !== '/token' || url.searchParams.get('service') !== service) {
        res.writeHead(400).end();
        return;
      }
      const token = jwt(subject, url.searchParams.getAll('scope'), state.answer.lifetime);
      const body: Record<string, unknown> = {};
      if (state.answer.field !== 'access_token') body.token = token;
      if (state.answer.field !== 'token') body.access_token = token;
      if (state.answer.expiresIn !== undefined) body.expires_in = state.answer.expiresIn;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    state.realm = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;
    return state;
  } catch (e) {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

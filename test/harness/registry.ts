// A real distribution registry (Debian's docker-registry, distribution 2.8) for tests: its own
// config in a temp dir, filesystem storage there, listening on 127.0.0.1 at a free port, with no
// auth, with htpasswd Basic auth (bcrypt), or with token auth (Bearer JWTs from a token server such
// as test/harness/token-server.ts). Never the package's default config or service.
import { freePort } from './ports.js';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { eventually } from './eventually.js';

/** A running test registry. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, as an image reference names it. */
  host: string;
  port: number;
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** The storage root directory (blobs under docker/registry/v2/blobs/sha256/..). */
  storageDir: string;
  /** Blob data file of `digest` in the storage dir (for tests that corrupt it). */
  blobPath(digest: string): string;
  pid: number;
  /** Kills the registry by pid and removes its temp dir. */
  stop(): Promise<void>;
}

/** Token auth as distribution's `auth: token:` config names it. */
export interface TestRegistryTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  rootcertbundle: string;
}

/** Options: `auth` with a user and password makes a Basic-auth (htpasswd, bcrypt) registry; `token` a token-auth one. */
export interface TestRegistryOptions {
  auth?: { username: string; password: string };
  token?: TestRegistryTokenAuth;
}

/** Starts a registry and waits until `GET /v2/` answers (200, or 401 with auth). */
export async function startRegistry(opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-registry-'));
  const storageDir = path.join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
      health: { storagedriver: { enabled: false } },
    };
    if (opts.auth) {
      const line = execFileSync('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password], { encoding: 'utf8' });
      const htpasswd = path.join(dir, 'htpasswd');
      writeFileSync(htpasswd, line.trim() + '\n');
      config.auth = { htpasswd: { realm: 'stack-test', path: htpasswd } };
    } else if (opts.token) {
      config.auth = { token: { ...opts.token } };
    }
    const configPath = path.join(dir, 'config.yml');
    writeFileSync(configPath, stringify(config));
    let output = '';
    const proc = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    const url = `http://127.0.0.1:${port}`;
    await eventually(`docker-registry on ${url}`, async () => {
      if (exited) throw new Error(`docker-registry exited: ${output.slice(-2000)}`);
      try {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200 || ((opts.auth !== undefined || opts.token !== undefined) && res.status === 401);
      } catch {
        return undefined;
      }
    });
    const pid = proc.pid!;
    return {
      host: `127.0.0.1:${port}`,
      port,
      url,
      storageDir,
      pid,
      blobPath: (digest) => {
        const hex = digest.replace(/^sha256:/, '');
        return path.join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      stop: async () => {
        if (!exited) {
          const gone = new Promise<void>((r) => proc.once('exit', () => r()));
          process.kill(pid, 'SIGKILL');
          await gone;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child!.once('exit', () => r()));
      process.kill(child.pid, 'SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Uploads one blob the way a pusher does: POST an upload, PUT its bytes with ?digest=; returns its digest. */
export async function pushBlob(reg: TestRegistry, repo: string, bytes: Buffer, auth?: string): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location')!, reg.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body: bytes });
  expect(put.status).toBe(201);
  return digest;
}

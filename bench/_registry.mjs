// A real registry for benchmarks (the .mjs twin of test/harness/registry.ts, which is TypeScript
// and tied to vitest): Debian's docker-registry with its own config and storage in a temp dir,
// on 127.0.0.1 at a free port, no auth; and a push of a test-images layout tag with skopeo.
// Never the package's default config or service; stop() kills it by pid and removes its folder.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The OCI layout scripts/test-images.sh builds, or undefined when it is not built. */
export function testImagesLayout() {
  const layout = join(process.env.STACK_TEST_IMAGES || '/var/cache/stack/test-images', 'oci');
  return existsSync(join(layout, 'index.json')) ? layout : undefined;
}

/** A port free on 127.0.0.1 now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a registry, waits until GET /v2/ answers 200; resolves { host, url, pid, stop() }. */
export async function startRegistry() {
  const dir = mkdtempSync(join(tmpdir(), 'stack-bench-registry-'));
  let proc;
  try {
    const port = await freePort();
    // JSON is YAML: no yaml module needed.
    const config = {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
      health: { storagedriver: { enabled: false } },
    };
    writeFileSync(join(dir, 'config.yml'), JSON.stringify(config));
    let output = '';
    proc = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    for (let t0 = Date.now(); ; await sleep(50)) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`docker-registry exited: ${output.slice(-2000)}`);
      if (Date.now() - t0 > 20_000) throw new Error(`docker-registry on ${url} did not answer in 20 s: ${output.slice(-2000)}`);
      const ok = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) }).then((r) => (r.arrayBuffer(), r.status === 200), () => false);
      if (ok) break;
    }
    const child = proc;
    return {
      host: `127.0.0.1:${port}`,
      url,
      pid: child.pid,
      stop: () => stopRegistry(child, dir),
    };
  } catch (e) {
    await stopRegistry(proc, dir);
    throw e;
  }
}

async function stopRegistry(proc, dir) {
  if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
    const gone = new Promise((r) => proc.once('exit', r));
    process.kill(proc.pid, 'SIGKILL');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs skopeo with `args` under an empty blob-info cache of its own (a private tmpfs at
 * /var/lib/containers/cache, as root), so no run reuses what another remembered and none leaves
 * a cache behind. Resolves with its stdout.
 */
export async function skopeo(args) {
  const script = 'mkdir -p /var/lib/containers/cache && mount -t tmpfs -o size=16m stack-skopeo-cache /var/lib/containers/cache && exec skopeo "$@"';
  const { stdout } = await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args], { maxBuffer: 1 << 24 });
  return stdout;
}

/** Pushes the layout's tag `image` (gzip layers, as built) to `reference`; resolves the pushed digest. */
export async function pushTestImage(layout, image, reference) {
  const tmp = mkdtempSync(join(tmpdir(), 'stack-bench-skopeo-'));
  try {
    const digestFile = join(tmp, 'digest');
    await skopeo(['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--format', 'oci', '--digestfile', digestFile, `oci:${layout}:${image}`, `docker://${reference}`]);
    return readFileSync(digestFile, 'utf8').trim();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

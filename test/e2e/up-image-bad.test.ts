// Issue 10's bad inputs through `stack up -d` (the real CLI, bin/stack.cjs over dist/: `npm run
// build` first): an image name that does not parse, a tag that does not exist, a registry nothing
// listens on, one that answers 500, one that never answers, a manifest whose bytes are not the
// digest it is pulled by, a truncated layer, and hostile layers (a `../` path, a write through an
// absolute symlink, a hardlink to a host file). Each project has the bad image service and a host
// program `ok` that does not depend on it; each `up` must exit 1 with a message naming the image
// (and the layer at fault) and a hint, no stack trace, start nothing at all (not even `ok`: pulls
// come before anything is made), leave no record, layer or `.partial-*` in the image store, and
// touch nothing on the host outside it (a canary file; the escape targets stay absent).
// Real registries are Debian's docker-registry (test/harness/registry.ts); the misbehaving ones
// are test/harness/fake-registry.ts.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { imageStoreDir } from '../../src/image/paths.js';
import { projectLibDir, projectRunDir, type StateRoots } from '../../src/state/paths.js';
import { startFakeRegistry, type FakeRegistry } from '../harness/fake-registry.js';
import { pushImage, sha256 } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';
import { makeTar, type TarEntry } from '../harness/tar.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

/** The blob digest pushImage gives an uncompressed layer (it gzips with the defaults). */
const layerDigest = (tar: Buffer) => sha256(gzipSync(tar));

/** Every path under `dir` (relative, `/`-separated), folders too; [] when it does not exist. */
function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).map((p) => relative(dir, join(dir, p))).sort();
}

/** A port nothing listens on now. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describeWith({ root: true, commands: ['docker-registry'] }, 'up refuses bad images clearly, starting nothing and leaving nothing', () => {
  const run = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'stack-upbad-'));
  // The host outside the store: a canary file a hostile layer aims at, and escape targets.
  const host = join(dir, 'host');
  const canary = join(host, 'canary.txt');
  const escaped = join(dir, 'escaped.txt');
  const pwned = join(host, 'pwned.txt');
  // A registry that hangs is given up on after STACK_REGISTRY_TIMEOUT seconds (30 by default).
  const env = { ...process.env, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker'), STACK_REGISTRY_TIMEOUT: '2' };
  const projects: { project: string; state: string; spec: string }[] = [];
  const fakes: FakeRegistry[] = [];
  let reg: TestRegistry;
  let canaryBefore: { text: string; ino: number; nlink: number; mtimeMs: number };

  const canaryNow = () => {
    const st = statSync(canary);
    return { text: readFileSync(canary, 'utf8'), ino: st.ino, nlink: st.nlink, mtimeMs: st.mtimeMs };
  };

  beforeAll(async () => {
    mkdirSync(host);
    writeFileSync(canary, `canary ${run}\n`);
    canaryBefore = canaryNow();
    reg = await startRegistry();
  }, 60_000);

  afterAll(async () => {
    // Nothing should have started; should a defect have started something, stop it.
    for (const p of projects) {
      await execa(process.execPath, [bin, '-p', p.project, '-f', p.spec, 'down', '-v', '--timeout', '0'], { env: { ...env, STACK_ROOT: p.state }, reject: false });
    }
    for (const f of fakes) await f.stop();
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * `up -d` of a project with an image service `bad` running `image` and a host program `ok`;
   * asserts the common refusal (exit 1, the image and `mentions` named in stderr, a hint, no stack
   * trace, nothing started, the store without record, layer or partial, the canary untouched) and
   * returns stderr.
   */
  async function refused(label: string, image: string, mentions: (string | RegExp)[]): Promise<string> {
    const project = `ub${label}${run}`;
    const caseDir = join(dir, label);
    mkdirSync(caseDir);
    const state = join(caseDir, 'state');
    const roots: StateRoots = { run: join(state, 'run'), lib: join(state, 'lib') };
    const spec = join(caseDir, 'compose.yaml');
    writeFileSync(spec, ['services:', '  bad:', `    image: ${JSON.stringify(image)}`, '  ok:', '    command: sleep 3600', ''].join('\n'));
    projects.push({ project, state, spec });

    const up = await execa(process.execPath, [bin, '-p', project, '-f', spec, 'up', '-d', '--progress', 'plain'], { env: { ...env, STACK_ROOT: state }, reject: false });
    const stderr = String(up.stderr);
    expect(up.exitCode, stderr).toBe(1);
    expect(stderr).toContain(image);
    expect(stderr).toContain('service "bad"');
    for (const m of mentions) expect(stderr).toMatch(m);
    expect(stderr).toMatch(/^(hint: | +hint: +)\S/m); // a UserError's, or a spec finding's
    expect(stderr).not.toMatch(/\n\s+at /);

    // Nothing started, not even `ok`: no run folder (service records, logs), no project lib
    // folder (writable roots, volumes), no cgroup.
    expect(existsSync(projectRunDir(roots, project))).toBe(false);
    expect(existsSync(projectLibDir(roots, project))).toBe(false);
    for (const controller of readdirSync('/sys/fs/cgroup')) expect(existsSync(join('/sys/fs/cgroup', controller, 'stack', project))).toBe(false);

    // The store (its own per case) holds no record, no layer, no blob and no partial: only its
    // empty folders and layer locks.
    const store = listTree(imageStoreDir(roots));
    expect(store.filter((p) => p.includes('.partial-'))).toEqual([]);
    expect(store.filter((p) => !['blobs', 'blobs/sha256', 'images', 'layers', 'locks'].includes(p) && !p.startsWith('locks/'))).toEqual([]);

    // The host outside the store is untouched.
    expect(canaryNow()).toEqual(canaryBefore);
    expect(readdirSync(host)).toEqual(['canary.txt']);
    expect(existsSync(escaped)).toBe(false);
    return stderr;
  }

  /** Pushes a one-layer image `repo:1` of `entries` to the registry; returns its reference and layer digest. */
  async function pushLayer(repo: string, entries: TarEntry[]): Promise<{ ref: string; layer: string }> {
    const tar = await makeTar(entries);
    const pushed = await pushImage(reg, repo, '1', [tar], { Cmd: ['/bin/sh'] });
    return { ref: pushed.ref, layer: layerDigest(tar) };
  }

  it('a name that does not parse', async () => {
    await refused('name', 'Bad:Name::x', [/image reference "Bad:Name::x"/, /must be lowercase/, /compose\.yaml:3:12: error: services\.bad\.image: /]);
  });

  it('a tag that does not exist on the registry', async () => {
    const { ref } = await pushLayer(`e2e/tag${run}`, [{ header: { name: 'a.txt' }, body: 'a\n' }]);
    const image = ref.replace(/:1$/, ':nope');
    const stderr = await refused('tag', image, [/was not found on/]);
    expect(stderr).toMatch(/^hint: check the image name and tag/m);
  });

  it('a registry that does not exist (nothing listens at its port)', async () => {
    const image = `127.0.0.1:${await closedPort()}/e2e/x:1`;
    const stderr = await refused('noreg', image, [/cannot reach 127\.0\.0\.1:\d+ .*ECONNREFUSED/]);
    expect(stderr).toMatch(/^hint: nothing listens at http:\/\/127\.0\.0\.1:\d+/m);
  });

  it('a registry that answers 500 to everything', async () => {
    const fake = await startFakeRegistry({ kind: 'status', status: 500 });
    fakes.push(fake);
    const image = `${fake.host}/e2e/x:1`;
    const stderr = await refused('r500', image, [/answered HTTP 500/]);
    expect(stderr).toMatch(/^hint: the registry failed; try again later/m);
    expect(fake.requests.length).toBeGreaterThan(0);
  });

  it('a registry that accepts the connection and never answers (STACK_REGISTRY_TIMEOUT=2)', async () => {
    const fake = await startFakeRegistry({ kind: 'hang' });
    fakes.push(fake);
    const image = `${fake.host}/e2e/x:1`;
    const stderr = await refused('hang', image, [/did not answer within 2 s/]);
    expect(stderr).toMatch(/^hint: check the network and the registry/m);
    expect(fake.requests).toContain('GET /v2/e2e/x/manifests/1');
  }, 120_000);

  it('a manifest whose bytes do not match the digest it is pulled by', async () => {
    const bytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(Buffer.from('{}')), size: 2 },
      layers: [],
    }));
    const fake = await startFakeRegistry({ kind: 'manifest', bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    fakes.push(fake);
    const wanted = sha256(Buffer.from(`not the manifest ${run}`));
    const image = `${fake.host}/e2e/n@${wanted}`;
    const stderr = await refused('digest', image, [new RegExp(`has digest ${sha256(bytes)}, but ${wanted} was expected`)]);
    expect(stderr).toMatch(/^hint: the registry sent different bytes/m);
    expect(fake.requests).toContain(`GET /v2/e2e/n/manifests/${wanted}`);
  });

  it('a layer cut short on the registry', async () => {
    const { ref, layer } = await pushLayer(`e2e/trunc${run}`, [{ header: { name: 'big.bin', mode: 0o644 }, body: randomBytes(512 * 1024) }]);
    const file = reg.blobPath(layer);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    // Whichever notices first (the blob's digest at its end, or gunzip at the cut), the layer is named.
    await refused('trunc', ref, [layer]);
  });

  it('a layer with a ../ path escape', async () => {
    const name = `${'../'.repeat(16)}${escaped.slice(1)}`;
    const { ref, layer } = await pushLayer(`e2e/dotdot${run}`, [
      { header: { name: 'inside.txt' }, body: 'fine\n' },
      { header: { name, mode: 0o644 }, body: 'escaped\n' },
    ]);
    await refused('dotdot', ref, [`pulling ${ref}: layer ${layer}: entry `, /refused/]);
  });

  it('a layer writing through an absolute symlink to the host', async () => {
    const { ref, layer } = await pushLayer(`e2e/symlink${run}`, [
      { header: { name: 'evil', type: 'symlink', linkname: host } },
      { header: { name: 'evil/pwned.txt', mode: 0o644 }, body: 'pwned\n' },
      { header: { name: 'evil/canary.txt', mode: 0o644 }, body: 'overwritten\n' },
    ]);
    await refused('symlink', ref, [`pulling ${ref}: layer ${layer}: entry `, /refused/]);
    expect(existsSync(pwned)).toBe(false);
  });

  it('a layer with a hardlink to a host file', async () => {
    const { ref, layer } = await pushLayer(`e2e/hardlink${run}`, [
      { header: { name: 'hl', type: 'link', linkname: `${'../'.repeat(16)}${canary.slice(1)}` } },
      { header: { name: 'hl2', type: 'link', linkname: canary } },
    ]);
    await refused('hardlink', ref, [`pulling ${ref}: layer ${layer}: entry `, /refused/]);
    expect(statSync(canary).nlink).toBe(1);
  });
});

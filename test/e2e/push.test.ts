// `stack push` through the real CLI and real docker-registries on 127.0.0.1: an image built from
// a base image of registry A (the host's static busybox) is pushed to A (its base layer mounted
// from the base's repository there) and to a registry B that has none of it (the base layer read
// from A as it is sent, the built layers as the tars whose sha256 are their DiffIDs); another
// state root then pulls it back from B and runs it, with the same image ID. A second push sends
// nothing again; a registry with Basic auth takes the push (`build --push`) with the credentials
// of DOCKER_CONFIG and refuses it without them, said as a human error; one with token auth gets
// a Bearer token with push access.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLogLines } from '../../src/runtime/logs.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { eventually } from '../harness/eventually.js';
import { busyboxLayer, pushImage } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startTokenServer } from '../harness/token-server.js';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['docker-registry', 'htpasswd', 'openssl'] }, 'push: built images to registries', () => {
  const project = `ps${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-push-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  const spec = join(dir, 'compose.yaml');
  const stackIn = (environment: NodeJS.ProcessEnv, p: string, file: string) => (...args: string[]) => execa(process.execPath, [bin, '-p', p, '-f', file, ...args], { env: environment, reject: false });
  const stack = stackIn(env, project, spec);
  let a: TestRegistry;
  let b: TestRegistry;
  let locked: TestRegistry;
  /** The manifest of `repo:tag` on `reg`, as a client asks for it. */
  const manifestOf = async (reg: TestRegistry, repo: string, tag: string, auth?: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json', ...(auth !== undefined && { Authorization: auth }) } });
    return { status: res.status, digest: res.headers.get('docker-content-digest'), body: res.status === 200 ? ((await res.json()) as { config: { digest: string }; layers: { mediaType: string; digest: string; size: number }[] }) : undefined };
  };

  /** The image ID of the app as built here. */
  const builtId = async () => {
    const images = await stack('images', '--format', 'json', 'app');
    const row = (JSON.parse(images.stdout) as { repository: string; id: string }[]).find((i) => i.repository === `${a.host}/e2e/app`);
    expect(row, images.stdout).toBeDefined();
    return row!.id;
  };

  beforeAll(async () => {
    [a, b, locked] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ auth: { username: 'pusher', password: 'right' } })]);
    const base = await busyboxLayer();
    await pushImage(a, 'e2e/busybox', '1', [base], { Env: ['PATH=/bin'], Cmd: ['sh'] });
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'message.txt'), 'pushed and pulled\n');
    writeFileSync(join(dir, 'app', 'Dockerfile'), ['ARG BASE', 'FROM ${BASE}', 'COPY message.txt /srv/', 'RUN echo "built $(cat /srv/message.txt)" > /srv/stamp', 'CMD ["sh", "-c", "cat /srv/stamp; exec sleep 3600"]', ''].join('\n'));
    writeFileSync(spec, [
      'services:',
      '  app:',
      `    image: ${a.host}/e2e/app:1`,
      '    build:',
      '      context: ./app',
      `      args: { BASE: "${a.host}/e2e/busybox:1" }`,
      `      tags: ["${b.host}/team/app:2"]`,
      '  cache:',
      `    image: ${a.host}/e2e/busybox:1`,
      '    command: ["sleep", "3600"]',
      '',
    ].join('\n'));
    const built = await stack('build', 'app');
    expect(built.exitCode, built.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await stack('down', '--rmi', 'all');
    await Promise.all([a, b, locked].filter(Boolean).map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes the image and its tags: the base layer mounted on its own registry, read from it for another, the built layers as their tars', async () => {
    const pushed = await stack('push');
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain('cache: not pushed (a service is pushed when it has build: and names its image:)');
    // On A: the base layer mounted from e2e/busybox, the two built layers and the config uploaded.
    expect(pushed.stderr).toMatch(new RegExp(`${a.host}/e2e/app:1: pushed sha256:[0-9a-f]{64} \\(blobs: 3 uploaded, 1 mounted\\)`));
    // On B, which had nothing: all four uploaded, the base layer read from A.
    expect(pushed.stderr).toMatch(new RegExp(`${b.host}/team/app:2: pushed sha256:[0-9a-f]{64} \\(blobs: 4 uploaded\\)`));
    const [onA, onB, base] = await Promise.all([manifestOf(a, 'e2e/app', '1'), manifestOf(b, 'team/app', '2'), manifestOf(a, 'e2e/busybox', '1')]);
    expect(onA.status).toBe(200);
    expect(onB.body).toEqual(onA.body);
    // The base layer as it was pulled (compressed), the built ones as uncompressed tars.
    expect(onA.body!.layers[0]!.digest).toBe(base.body!.layers[0]!.digest);
    expect(onA.body!.layers.slice(1).map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar']);
    // The config goes as it is: the image ID is the same on the registry.
    expect(onA.body!.config.digest).toBe(await builtId());

    // A second push sends nothing: every blob is there.
    const again = await stack('push', '-q');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    const loud = await stack('push', 'app');
    expect(loud.stderr).toContain('(blobs: 4 there already)');
  }, 120_000);

  it('pushes an image built FROM another built image with the size of every layer, those the registry has named by their size there', async () => {
    mkdirSync(join(dir, 'child'), { recursive: true });
    writeFileSync(join(dir, 'child', 'Dockerfile'), `FROM ${a.host}/e2e/app:1\nRUN echo child > /srv/child\n`);
    const file = join(dir, 'child.yaml');
    writeFileSync(file, `services:\n  child:\n    image: ${a.host}/e2e/child:1\n    build: ./child\n`);
    const run = stackIn(env, `${project}k`, file);
    try {
      const pushed = await run('build', '--push');
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      // busybox's layer mounted from e2e/busybox; app's two (no size in the child's built
      // manifest: measured), the child's own and the config uploaded.
      expect(pushed.stderr).toMatch(new RegExp(`${a.host}/e2e/child:1: pushed sha256:[0-9a-f]{64} \\(blobs: 4 uploaded, 1 mounted\\)`));
      const sizesRight = async () => {
        const child = await manifestOf(a, 'e2e/child', '1');
        expect(child.body!.layers).toHaveLength(4);
        for (const layer of child.body!.layers) {
          const head = await fetch(`${a.url}/v2/e2e/child/blobs/${layer.digest}`, { method: 'HEAD' });
          expect(head.status, layer.digest).toBe(200);
          expect(layer.size, layer.digest).toBe(Number(head.headers.get('content-length')));
        }
        return child.digest;
      };
      const first = await sizesRight();
      // Again: every blob there, the sizes taken from the registry; the same manifest.
      const again = await run('push');
      expect(again.stderr).toContain('(blobs: 5 there already)');
      expect(await sizesRight()).toBe(first);
    } finally {
      await run('down', '--rmi', 'all');
    }
  }, 120_000);

  it('is pulled back from the other registry by another state root and runs, with the same image ID', async () => {
    const other = join(dir, 'other');
    const otherEnv = { ...env, STACK_ROOT: other };
    const otherSpec = join(dir, 'other.yaml');
    writeFileSync(otherSpec, `services:\n  app:\n    image: ${b.host}/team/app:2\n`);
    const name = `${project}b`;
    const run = stackIn(otherEnv, name, otherSpec);
    try {
      const up = await run('up', '-d');
      expect(up.exitCode, up.stderr).toBe(0);
      const log = serviceFiles({ run: join(other, 'run'), lib: join(other, 'lib') }, name, 'app').log;
      await eventually('the pulled image runs', async () => ((await readLogLines(log)).map((l) => l.text).includes('built pushed and pulled') ? true : undefined));
      const theirs = await run('images', '--format', 'json');
      expect((JSON.parse(theirs.stdout) as { id: string }[]).map((i) => i.id)).toEqual([await builtId()]);
    } finally {
      await run('down', '--rmi', 'all');
      rmSync(other, { recursive: true, force: true });
    }
  }, 120_000);

  it('pushes to a registry with Basic auth with the credentials of DOCKER_CONFIG, and says so when it has none or wrong ones', async () => {
    const file = join(dir, 'locked.yaml');
    writeFileSync(file, `services:\n  app:\n    image: ${locked.host}/team/app:3\n    build:\n      context: ./app\n      args: { BASE: "${a.host}/e2e/busybox:1" }\n`);
    const name = `${project}c`;
    const run = stackIn(env, name, file);
    expect((await run('build')).exitCode).toBe(0);
    const refused = await run('push');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`service app: ${locked.host} refused to let ${locked.host}/team/app:3 be pushed (HTTP 401)`);
    expect(refused.stderr).toContain(`docker login ${locked.host}`);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const withAuth = (password: string) => {
      mkdirSync(env.DOCKER_CONFIG, { recursive: true });
      writeFileSync(join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({ auths: { [locked.host]: { auth: Buffer.from(`pusher:${password}`).toString('base64') } } }));
    };
    try {
      withAuth('wrong');
      const wrong = await run('push');
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toContain('were refused');
      withAuth('right');
      // build --push: built (from the cache) and pushed.
      const pushed = await run('build', '--push');
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.stderr).toMatch(new RegExp(`${locked.host}/team/app:3: pushed sha256:[0-9a-f]{64} \\(blobs: 4 uploaded\\)`));
      const basic = `Basic ${Buffer.from('pusher:right').toString('base64')}`;
      expect((await manifestOf(locked, 'team/app', '3', basic)).status).toBe(200);
    } finally {
      rmSync(join(env.DOCKER_CONFIG, 'config.json'), { force: true });
      await run('down', '--rmi', 'all');
    }
  }, 120_000);

  it('pushes to a registry with token auth: a Bearer token with push access (and pull access to the base it mounts), asked for with the credentials of DOCKER_CONFIG', async () => {
    const tokens = await startTokenServer({ pusher: 'right' });
    const reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootcertbundle: tokens.rootCertBundle } });
    // The base on this registry too: the push mounts its layer, with a token that may pull from its repository.
    await pushImage(reg, 'e2e/busybox', '1', [await busyboxLayer()], { Env: ['PATH=/bin'], Cmd: ['sh'] }, `Bearer ${tokens.issue('pusher', ['repository:e2e/busybox:pull,push'])}`);
    const file = join(dir, 'token.yaml');
    writeFileSync(file, `services:\n  app:\n    image: ${reg.host}/team/app:4\n    build:\n      context: ./app\n      args: { BASE: "${reg.host}/e2e/busybox:1" }\n`);
    const run = stackIn(env, `${project}t`, file);
    try {
      mkdirSync(env.DOCKER_CONFIG, { recursive: true });
      writeFileSync(join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('pusher:right').toString('base64') } } }));
      const pushed = await run('build', '--push');
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.stderr).toMatch(new RegExp(`${reg.host}/team/app:4: pushed sha256:[0-9a-f]{64} \\(blobs: 3 uploaded, 1 mounted\\)`));
      expect(tokens.requests).toBeGreaterThan(0);
      const bearer = `Bearer ${tokens.issue('pusher', ['repository:team/app:pull'])}`;
      expect((await manifestOf(reg, 'team/app', '4', bearer)).status).toBe(200);
    } finally {
      rmSync(join(env.DOCKER_CONFIG, 'config.json'), { force: true });
      await run('down', '--rmi', 'all');
      await reg.stop();
      await tokens.stop();
    }
  }, 120_000);

  it('refuses a service whose image was never built, and goes on past it with --ignore-push-failures', async () => {
    const file = join(dir, 'unbuilt.yaml');
    writeFileSync(file, `services:\n  app:\n    image: ${b.host}/team/never:1\n    build:\n      context: ./app\n`);
    const run = stackIn(env, `${project}d`, file);
    const refused = await run('push');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`service app: ${b.host}/team/never:1 is not in the image store`);
    expect(refused.stderr).toContain('stack build');
    const ignored = await run('push', '--ignore-push-failures');
    expect(ignored.exitCode).toBe(0);
    expect(ignored.stderr).toContain(`warning: service app: ${b.host}/team/never:1 is not in the image store`);
  });
});

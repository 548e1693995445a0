// Image resolution over a real store in a temp folder (records, config blobs and layer folders
// written as pulls write them): which images a project needs pulled under each pull policy, and
// the service an image service becomes (the image config merged under the spec, the user from
// the image's own passwd, imageRoot naming the layers), a missing image refused or left alone.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imagesToPull, resolveProject, resolveService } from '../../../src/image/resolve.js';
import { chainIds, ImageStore } from '../../../src/image/store.js';
import { project, service } from '../planner/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-resolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** An image in the store as a pull leaves it: config blob, one layer folder with /etc/passwd, the record. */
async function stored(store: ImageStore, name: string, config: Record<string, unknown>, pulledAt = new Date().toISOString()) {
  const diffId = sha(`${name}-layer`);
  const bytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const configDigest = sha(bytes.toString());
  await store.putBlob(configDigest, bytes);
  const [chain] = chainIds([diffId]);
  mkdirSync(join(store.layerDir(chain!), 'etc'), { recursive: true });
  writeFileSync(join(store.layerDir(chain!), 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\npg:x:70:71::/var/lib/pg:/bin/sh\n');
  writeFileSync(join(store.layerDir(chain!), 'etc', 'group'), 'root:x:0:\npg:x:71:\nextra:x:90:pg\n');
  await store.putRecord({ name, digest: sha(`${name}-index`), manifestDigest: sha(`${name}-m`), configDigest, platform: 'linux/amd64', layers: [chain!], pulledAt });
  return { configDigest, chain: chain! };
}

describe('image resolution', async () => {
  const store = new ImageStore(join(dir, 'store'));
  await store.init();
  const pg = await stored(store, 'docker.io/library/postgres:15', {
    Entrypoint: ['docker-entrypoint.sh'],
    Cmd: ['postgres'],
    Env: ['PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin', 'PGDATA=/var/lib/postgresql/data', 'LANG=C'],
    WorkingDir: '/var/lib/pg',
    User: 'pg',
    StopSignal: 'SIGINT',
    ExposedPorts: { '5432/tcp': {} },
    Volumes: { '/var/lib/postgresql/data': {}, '/covered': {} },
    Healthcheck: { Test: ['CMD-SHELL', 'pg_isready'], Interval: 30e9, Retries: 3 },
  });
  await stored(store, 'docker.io/library/redis:7', { Cmd: ['redis-server'] }, new Date(Date.now() - 3 * 86_400_000).toISOString());

  it('merges the image config under the spec and names the layers', async () => {
    const s = await resolveService(
      service('db', { image: 'postgres:15', command: ['postgres', '-c', 'fsync=off'], entrypoint: null, environment: { LANG: 'C.UTF-8' }, volumes: [{ type: 'volume', target: '/covered', readOnly: false }], healthcheckTimings: { intervalMs: 2000 } }),
      store,
    );
    expect([...s.entrypoint!, ...s.command!]).toEqual(['docker-entrypoint.sh', 'postgres', '-c', 'fsync=off']);
    expect(s.environment).toEqual({ PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin', PGDATA: '/var/lib/postgresql/data', LANG: 'C.UTF-8' });
    expect(s.workingDir).toBe('/var/lib/pg');
    expect(s.user).toBe('pg');
    expect(s.stopSignal).toBe('SIGINT');
    expect(s.healthcheck).toMatchObject({ test: ['CMD-SHELL', 'pg_isready'], intervalMs: 2000, retries: 3 });
    expect(s.volumes.map((m) => m.target)).toEqual(['/covered', '/var/lib/postgresql/data']);
    expect(s.imageRoot).toEqual({
      id: pg.configDigest,
      reference: 'docker.io/library/postgres:15',
      digest: sha('docker.io/library/postgres:15-index'),
      layers: [pg.chain],
      identity: { uid: 70, gid: 71, groups: [90] },
      exposedPorts: ['5432/tcp'],
    });
  });

  it('pulls under each policy: missing only when absent, always always, never refuses, a refresh when older', async () => {
    const p = project([
      service('db', { image: 'postgres:15', command: null }),
      service('cache', { image: 'redis:7', command: null, pullPolicy: { refreshAfterMs: 86_400_000 } }),
      service('ghost', { image: 'ghost:1', command: null }),
      service('host'),
    ]);
    expect((await imagesToPull(p, ['db', 'cache', 'ghost', 'host'], store)).map((r) => [r.image, r.why])).toEqual([['redis:7', 'refresh'], ['ghost:1', 'missing']]);
    expect((await imagesToPull(p, ['db'], store, 'always')).map((r) => [r.image, r.why])).toEqual([['postgres:15', 'always']]);
    await expect(imagesToPull(p, ['ghost'], store, 'never')).rejects.toMatchObject({ code: 'IMAGE_NOT_PRESENT', message: expect.stringMatching(/service "ghost": image ghost:1 is not in the image store/) });
  });

  it('an image service not in the store is refused when it is to start, left as written otherwise', async () => {
    const p = project([service('db', { image: 'postgres:15', command: null }), service('ghost', { image: 'ghost:1', command: null })]);
    await expect(resolveProject(p, ['ghost'], store)).rejects.toMatchObject({ code: 'IMAGE_NOT_PRESENT' });
    const r = await resolveProject(p, ['db'], store);
    expect(r.services.db!.imageRoot?.id).toBe(pg.configDigest);
    expect(r.services.ghost).toBe(p.services.ghost);
  });

  it('a record whose layer folder is gone is not usable', async () => {
    const gone = await stored(store, 'docker.io/library/gone:1', { Cmd: ['x'] });
    rmSync(store.layerDir(gone.chain), { recursive: true });
    await expect(resolveService(service('g', { image: 'gone:1', command: null }), store)).rejects.toMatchObject({ code: 'IMAGE_NOT_PRESENT', message: expect.stringMatching(/gone:1 is not usable/) });
    expect((await imagesToPull(project([service('g', { image: 'gone:1', command: null })]), ['g'], store)).map((r) => r.why)).toEqual(['missing']);
  });
});

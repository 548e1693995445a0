// The real test images of scripts/test-images.sh, pushed into a real registry (Debian's
// docker-registry on 127.0.0.1) with skopeo as gzip and as zstd (and by hand as plain tar) and
// pulled by pullImage into a temp ImageStore: postgres and redis share their Debian layer (one
// folder in the store), the configs say what the script set, the postgres layer holds the
// server, and the multi index resolves to busybox on this host and to the s390x image when asked.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatPlatform, hostPlatform, parsePlatform } from '../../../src/image/platform.js';
import { pullImage } from '../../../src/image/pull.js';
import { ImageStore, type ImageRecord } from '../../../src/image/store.js';
import { describeWithImages, MULTI_OTHER_PLATFORM, pushTestImage } from '../../harness/images.js';
import { startRegistry, type TestRegistry } from '../../harness/registry.js';

interface Config {
  os: string;
  architecture: string;
  config: {
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    User?: string;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    StopSignal?: string;
    Healthcheck?: { Test: string[] };
  };
}

describeWithImages({ root: true, commands: ['skopeo'] }, 'test images through a real registry', () => {
  let registry: TestRegistry;
  let tmp: string;
  const stores: ImageStore[] = [];
  const newStore = () => {
    const store = new ImageStore(join(tmp, `store-${stores.length}`));
    stores.push(store);
    return store;
  };
  const pull = (store: ImageStore, reference: string, platform?: string) =>
    pullImage(reference, { store, insecure: [registry.host], ...(platform ? { platform: parsePlatform(platform) } : {}) });
  const configOf = async (store: ImageStore, rec: ImageRecord): Promise<Config> => JSON.parse((await store.readBlob(rec.configDigest))!.toString('utf8')) as Config;
  const layerDirs = (store: ImageStore) => readdirSync(join(store.root, 'layers')).filter((n) => /^[a-f0-9]{64}$/.test(n));
  const manifestOf = async (reference: string, accept: string) => {
    const [, repoTag] = reference.split(/\/(.*)/);
    const i = repoTag!.lastIndexOf(':');
    const res = await fetch(`${registry.url}/v2/${repoTag!.slice(0, i)}/manifests/${repoTag!.slice(i + 1)}`, { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    return (await res.json()) as { mediaType?: string; layers?: { mediaType: string }[]; manifests?: { platform: { architecture: string } }[] };
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stack-test-images-'));
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  let postgresGzip: ImageRecord;

  it('postgres and redis (gzip) share their Debian layer, stored once, with the configs the script set', { timeout: 240_000 }, async () => {
    const pg = await pushTestImage(registry, 'postgres', 'test/postgres:gzip', { compression: 'gzip' });
    const redis = await pushTestImage(registry, 'redis', 'test/redis:gzip', { compression: 'gzip' });
    console.log(`skopeo push: postgres gzip ${pg.seconds.toFixed(1)} s, redis gzip ${redis.seconds.toFixed(1)} s`);
    const manifest = await manifestOf(pg.reference, 'application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers!.map((l) => l.mediaType)).toEqual(Array(2).fill('application/vnd.oci.image.layer.v1.tar+gzip'));

    const store = newStore();
    const pgRec = await pull(store, pg.reference);
    const redisRec = await pull(store, redis.reference);
    postgresGzip = pgRec;
    expect(pgRec.digest).toBe(pg.digest);
    expect(pgRec.layers).toHaveLength(2);
    expect(redisRec.layers).toHaveLength(2);
    expect(redisRec.layers[0]).toBe(pgRec.layers[0]);
    expect(redisRec.layers[1]).not.toBe(pgRec.layers[1]);
    // Three layers in the store: the shared Debian one once, and one of each.
    expect(layerDirs(store).sort()).toEqual([...new Set([...pgRec.layers, ...redisRec.layers])].map((c) => c.slice(7)).sort());
    expect(layerDirs(store)).toHaveLength(3);

    const base = store.layerDir(pgRec.layers[0]!);
    expect(statSync(join(base, 'usr/bin/bash')).isFile()).toBe(true);
    expect(readdirSync(join(base, 'dev'))).toEqual([]);
    const pgLayer = store.layerDir(pgRec.layers[1]!);
    expect(statSync(join(pgLayer, 'usr/lib/postgresql/15/bin/postgres')).mode & 0o111).not.toBe(0);
    expect(statSync(join(pgLayer, 'usr/local/bin/docker-entrypoint.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(pgLayer, 'usr/bin/bash'))).toBe(false);
    expect(statSync(join(pgLayer, 'run/postgresql')).mode & 0o7777).toBe(0o3777);
    expect(statSync(join(store.layerDir(redisRec.layers[1]!), 'usr/bin/redis-server')).isFile()).toBe(true);

    const pgConfig = await configOf(store, pgRec);
    expect(pgConfig.config.Entrypoint).toEqual(['/usr/local/bin/docker-entrypoint.sh']);
    expect(pgConfig.config.Cmd).toEqual(['postgres']);
    expect(Object.keys(pgConfig.config.ExposedPorts!)).toEqual(['5432/tcp']);
    expect(Object.keys(pgConfig.config.Volumes!)).toEqual(['/var/lib/postgresql/data']);
    expect(pgConfig.config.StopSignal).toBe('SIGINT');
    expect(pgConfig.config.Env).toContain('PGDATA=/var/lib/postgresql/data');
    expect(pgConfig.config.Env!.find((e) => e.startsWith('PATH='))).toContain('/usr/lib/postgresql/15/bin');
    expect(pgConfig.config.User ?? '').toBe('');
    expect(pgConfig.config.Healthcheck!.Test[0]).toBe('CMD-SHELL');

    const redisConfig = await configOf(store, redisRec);
    expect(redisConfig.config.Cmd).toEqual(['redis-server', '--protected-mode', 'no']);
    expect(redisConfig.config.Entrypoint ?? []).toEqual([]);
    expect(Object.keys(redisConfig.config.ExposedPorts!)).toEqual(['6379/tcp']);
    expect(Object.keys(redisConfig.config.Volumes!)).toEqual(['/data']);
    expect(redisConfig.config.WorkingDir).toBe('/data');
    expect(redisConfig.config.User).toBe('redis');
  });

  it('postgres pushed as zstd pulls into a fresh store as the same image and layers', { timeout: 240_000 }, async () => {
    // Another repository: skopeo 1.9 reuses (does not recompress) a blob the target repository has.
    const pg = await pushTestImage(registry, 'postgres', 'test/postgres-zstd:v1', { compression: 'zstd' });
    console.log(`skopeo push: postgres zstd ${pg.seconds.toFixed(1)} s`);
    const manifest = await manifestOf(pg.reference, 'application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers!.map((l) => l.mediaType)).toEqual(Array(2).fill('application/vnd.oci.image.layer.v1.tar+zstd'));
    const store = newStore();
    const rec = await pull(store, pg.reference);
    expect(rec.configDigest).toBe(postgresGzip.configDigest);
    expect(rec.layers).toEqual(postgresGzip.layers);
    expect(rec.manifestDigest).not.toBe(postgresGzip.manifestDigest);
    expect(statSync(join(store.layerDir(rec.layers[1]!), 'usr/lib/postgresql/15/bin/postgres')).isFile()).toBe(true);
  });

  it('busybox pushed with plain tar layers pulls with its applet links', async () => {
    const bb = await pushTestImage(registry, 'busybox', 'test/busybox', { compression: 'none' });
    const manifest = await manifestOf(bb.reference, 'application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers!.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar']);
    const store = newStore();
    const rec = await pull(store, bb.reference);
    expect(rec.layers).toHaveLength(1);
    const root = store.layerDir(rec.layers[0]!);
    expect(statSync(join(root, 'bin/busybox')).isFile()).toBe(true);
    expect(lstatSync(join(root, 'bin/sh')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'bin/sh'))).toBe('/bin/busybox');
    expect((await configOf(store, rec)).config.Cmd).toEqual(['sh']);
  });

  it('the multi index resolves to busybox on this host and to the s390x image when asked', async () => {
    const multi = await pushTestImage(registry, 'multi', 'test/multi:v1', { compression: 'gzip' });
    const index = await manifestOf(multi.reference, 'application/vnd.oci.image.index.v1+json');
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests!.map((m) => m.platform.architecture).sort()).toEqual([hostPlatform().architecture, parsePlatform(MULTI_OTHER_PLATFORM).architecture].sort());

    const store = newStore();
    const host = await pull(store, multi.reference);
    expect(host.digest).toBe(multi.digest);
    expect(host.platform).toBe(formatPlatform(hostPlatform()));
    expect(host.manifestDigest).not.toBe(host.digest);
    const hostConfig = await configOf(store, host);
    expect(hostConfig.config.Cmd).toEqual(['sh']);
    expect(statSync(join(store.layerDir(host.layers[0]!), 'bin/busybox')).isFile()).toBe(true);

    const other = await pull(newStore(), multi.reference, MULTI_OTHER_PLATFORM);
    expect(other.platform).toBe(MULTI_OTHER_PLATFORM);
    expect(other.digest).toBe(multi.digest);
    expect(other.configDigest).not.toBe(host.configDigest);
    expect(other.layers).toHaveLength(1);
    expect(existsSync(join(stores.at(-1)!.layerDir(other.layers[0]!), 'README'))).toBe(true);
    expect(existsSync(join(stores.at(-1)!.layerDir(other.layers[0]!), 'bin/busybox'))).toBe(false);
  });
});

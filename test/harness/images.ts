// The real test images (Debian bookworm roots with postgresql-15, redis-server and nodejs sharing a base
// layer, a busybox-static one, a two-platform index) that scripts/test-images.sh builds into an
// OCI layout under ${STACK_TEST_IMAGES:-/var/cache/stack/test-images}, and their push into a test
// registry (test/harness/registry.ts) with skopeo (gzip or zstd) or, uncompressed, by hand.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'vitest';
import { pushBlob, type TestRegistry } from './registry.js';
import { describeWith, isRoot } from './require.js';

const run = promisify(execFile);
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const REF_NAME = 'org.opencontainers.image.ref.name';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The images scripts/test-images.sh builds (tags of its layout). */
export type TestImage = 'postgres' | 'redis' | 'node' | 'busybox' | 'multi';

/** The other platform of the `multi` index, beside the host's busybox (compose `platform:` form). */
export const MULTI_OTHER_PLATFORM = 'linux/s390x';

/** The cache folder scripts/test-images.sh builds into. */
export function testImagesCache(): string {
  return process.env.STACK_TEST_IMAGES || '/var/cache/stack/test-images';
}

/** Why the test images cannot be used (not built), or undefined when they are there. */
function imagesMissing(): string | undefined {
  const dir = testImagesCache();
  if (existsSync(join(dir, 'key')) && existsSync(join(dir, 'oci', 'index.json'))) return undefined;
  return `the test images are not built in ${dir}: run scripts/test-images.sh as root (scripts/test.sh runs it)`;
}

/**
 * The cache folder when the images are built; undefined when not (tests skip), and with CI=true
 * a thrown error saying to run scripts/test-images.sh.
 */
export function testImagesDir(): string | undefined {
  const missing = imagesMissing();
  if (!missing) return testImagesCache();
  if (inCI) throw new Error(missing);
  return undefined;
}

/** The OCI image layout holding the tags debian, postgres, redis, node, busybox, s390x and multi. */
export function testImagesLayout(): string {
  const dir = testImagesDir();
  if (!dir) throw new Error(imagesMissing());
  return join(dir, 'oci');
}

/** describeWith that also needs the test images and skopeo: skipped without them, failing under CI. */
export function describeWithImages(needs: { root?: boolean; commands?: string[] }, name: string, body: () => void): void {
  const missing = imagesMissing();
  if (missing && inCI) {
    describe(name, () => {
      it('cannot run in CI: test images missing', () => {
        throw new Error(`${name}: ${missing}; CI=true forbids skipping it`);
      });
    });
    return;
  }
  if (missing) {
    describe.skip(`${name} (skipped: ${missing})`, body);
    return;
  }
  describeWith({ ...needs, commands: [...(needs.commands ?? []), 'skopeo'] }, name, body);
}

/** How to push. */
export interface PushOptions {
  /** Layer compression in the registry: gzip and zstd by skopeo; none (plain tar layers) by hand. */
  compression: 'gzip' | 'zstd' | 'none';
  /** For a Basic- or token-auth registry. */
  credentials?: { username: string; password: string };
}

/** What a push made. */
export interface PushedImage {
  /** `127.0.0.1:PORT/NAME:TAG`, ready for pullImage. */
  reference: string;
  /** Digest of what the tag names (the manifest, or the index for `multi`). */
  digest: string;
  /** Seconds the push took. */
  seconds: number;
}

/**
 * Pushes the test image `image` to `registry` as `name` (`repo` or `repo:tag`, tag `latest` when
 * absent); `multi` goes as an index with all its platforms. skopeo 1.9 reuses a layer blob the
 * target repository already holds instead of recompressing it: push the zstd and the gzip form of
 * one image to different repositories (or registries).
 */
export async function pushTestImage(registry: TestRegistry, image: TestImage, name: string, options: PushOptions): Promise<PushedImage> {
  const layout = testImagesLayout();
  const reference = `${registry.host}/${/:[^/]+$/.test(name) ? name : `${name}:latest`}`;
  const started = Date.now();
  const digest = options.compression === 'none'
    ? await pushUncompressed(registry, layout, image, reference, options.credentials)
    : await pushWithSkopeo(layout, image, reference, options);
  return { reference, digest, seconds: (Date.now() - started) / 1000 };
}

/** `skopeo copy` of the layout's tag, recompressing to zstd when asked; returns the pushed digest. */
async function pushWithSkopeo(layout: string, image: TestImage, reference: string, options: PushOptions): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'stack-skopeo-'));
  try {
    const digestFile = join(tmp, 'digest');
    const args = [
      'copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--format', 'oci', '--digestfile', digestFile,
      ...(image === 'multi' ? ['--all'] : []),
      ...(options.compression === 'zstd' ? ['--dest-compress-format', 'zstd'] : []),
      ...(options.credentials ? ['--dest-creds', `${options.credentials.username}:${options.credentials.password}`] : []),
      `oci:${layout}:${image}`, `docker://${reference}`,
    ];
    // skopeo's blob info cache remembers which compressed blobs a registry holds and reuses them
    // across repositories and compressions (a zstd push after a gzip one would mount the gzip
    // layers): each push gets an empty cache of its own (a private tmpfs as root, a temp HOME
    // otherwise), so what it pushes is what it was asked to push.
    if (isRoot) {
      const script = 'mkdir -p /var/lib/containers/cache && mount -t tmpfs -o size=16m stack-skopeo-cache /var/lib/containers/cache && exec skopeo "$@"';
      await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args], { maxBuffer: 1 << 24 });
    } else {
      await run('skopeo', args, { env: { ...process.env, HOME: tmp, XDG_DATA_HOME: join(tmp, 'data') }, maxBuffer: 1 << 24 });
    }
    return readFileSync(digestFile, 'utf8').trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo copy of test image ${image} to ${reference} failed: ${err.stderr?.trim() || err.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Reads a JSON blob of the layout. */
function layoutJson<T>(layout: string, digest: string): T {
  return JSON.parse(readFileSync(join(layout, 'blobs', ...digest.split(':')), 'utf8')) as T;
}

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: unknown;
  annotations?: Record<string, string>;
}

/** Pushes the layout's tag with plain tar layers (skopeo cannot push uncompressed to a registry). */
async function pushUncompressed(registry: TestRegistry, layout: string, image: TestImage, reference: string, credentials?: PushOptions['credentials']): Promise<string> {
  const repoTag = reference.slice(registry.host.length + 1);
  const colon = repoTag.lastIndexOf(':');
  const repo = repoTag.slice(0, colon);
  const tag = repoTag.slice(colon + 1);
  const auth = credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
  const putManifest = async (ref: string, mediaType: string, bytes: Buffer): Promise<string> => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': mediaType, ...(auth ? { Authorization: auth } : {}) }, body: bytes });
    if (res.status !== 201) throw new Error(`pushing ${image} to ${reference}: manifest PUT answered ${res.status}: ${await res.text()}`);
    return res.headers.get('docker-content-digest')!;
  };
  // `ref` a tag, or undefined to put the manifest by its (new) digest, as an index entry.
  const pushManifest = async (manifestDigest: string, ref: string | undefined): Promise<Desc> => {
    const manifest = layoutJson<{ config: Desc; layers: Desc[] } & Record<string, unknown>>(layout, manifestDigest);
    const config = readFileSync(join(layout, 'blobs', ...manifest.config.digest.split(':')));
    await pushBlob(registry, repo, config, auth);
    const layers: Desc[] = [];
    for (const layer of manifest.layers) {
      const tar = gunzipSync(readFileSync(join(layout, 'blobs', ...layer.digest.split(':'))));
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(registry, repo, tar, auth), size: tar.length });
    }
    const bytes = Buffer.from(JSON.stringify({ ...manifest, mediaType: OCI_MANIFEST, layers }));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await putManifest(ref ?? digest, OCI_MANIFEST, bytes);
    return { mediaType: OCI_MANIFEST, digest, size: bytes.length };
  };
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Desc[] };
  const entry = top.manifests.find((m) => m.annotations?.[REF_NAME] === image);
  if (!entry) throw new Error(`test image layout ${layout} has no tag ${image}: run scripts/test-images.sh`);
  if (entry.mediaType !== OCI_INDEX) return (await pushManifest(entry.digest, tag)).digest;
  const index = layoutJson<{ manifests: Desc[] }>(layout, entry.digest);
  const manifests: Desc[] = [];
  for (const m of index.manifests) manifests.push({ ...(await pushManifest(m.digest, undefined)), ...(m.platform ? { platform: m.platform } : {}) });
  return putManifest(tag, OCI_INDEX, Buffer.from(JSON.stringify({ ...index, mediaType: OCI_INDEX, manifests })));
}

// Pulling an image into the store: the manifest resolved (an index → the platform's manifest),
// the config fetched and checked against the layers, the missing layers downloaded three at a
// time, each blob streamed straight into unpackLayer (digest and DiffID checked as it streams)
// under the layer's lock, a dropped connection retried once, and the record written last, so a
// record never names a layer that is not there.
import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { CONFIG_MAX_BYTES, MANIFEST_ACCEPT, checkLayersMatchConfig, parseImageConfig, parseManifest, type Descriptor, type ImageManifest } from './manifest.js';
import { checkConfigPlatform, chooseManifest, formatPlatform, hostPlatform, normalizePlatform, type PlatformSpec } from './platform.js';
import { parseImageReference } from './reference.js';
import { RegistryClient, type RegistryCredentials } from './registry.js';
import { chainIds, type ImageRecord, type ImageStore } from './store.js';
import { unpackLayer } from './unpack.js';

/** One step of a pull, for a progress display. */
export type PullProgress =
  | { readonly kind: 'resolved'; readonly image: string; readonly digest: string; readonly layers: number }
  | { readonly kind: 'layer'; readonly digest: string; readonly chainId: string; readonly state: 'exists' | 'downloading' | 'retrying' | 'done' }
  | { readonly kind: 'warning'; readonly message: string };

/** How to pull. */
export interface PullOptions {
  readonly store: ImageStore;
  /** The platform wanted (compose `platform:`); the host's when absent. */
  readonly platform?: PlatformSpec;
  readonly credentials?: RegistryCredentials;
  /** Registries (host[:port]) spoken to over http. */
  readonly insecure?: readonly string[];
  readonly onProgress?: (event: PullProgress) => void;
  /** Registry timeout in ms (connect, headers, between body chunks). */
  readonly timeoutMs?: number;
}

/** How many layers download at once. */
export const PULL_CONCURRENCY = 3;

/** Whether a failure is a dropped or stalled connection, worth one more try. */
function dropped(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && depth < 6; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (code === 'REGISTRY_TIMEOUT' || code === 'REGISTRY_UNREACHABLE' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return true;
  }
  return false;
}

/** `e` as a UserError whose message names the image (and layer). */
function naming(e: unknown, image: string, layer?: string): UserError {
  const where = layer ? `pulling ${image}, layer ${layer}` : `pulling ${image}`;
  if (e instanceof UserError) {
    if (e.message.includes(image) && (!layer || e.message.includes(layer))) return e;
    return new UserError(e.code, `${where}: ${e.message}`, e.hint, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new UserError('PULL_FAILED', `${where}: ${msg}`, 'check the image and the registry, then pull again', { cause: e });
}

/** A small blob read whole, refused past `max` bytes. */
async function readBlob(stream: Readable, max: number, image: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > max) throw new UserError('BAD_MANIFEST', `image ${image}: the image config is more than ${max} bytes`, 'this does not look like a container image');
      chunks.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** Runs `fn` on each item, at most `limit` at once; the first failure rejects after all settle. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

/** Pulls `reference` into the store and returns its record; throws a UserError naming the image. */
export async function pullImage(reference: string, opts: PullOptions): Promise<ImageRecord> {
  const ref = parseImageReference(reference);
  const image = ref.familiar;
  const { store } = opts;
  const wanted = opts.platform ?? hostPlatform();
  const client = new RegistryClient({
    registry: ref.registry,
    ...(opts.insecure ? { insecure: opts.insecure } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const repo = ref.repository;
  try {
    await store.init();
    // The manifest, through an index when the name is multi-platform.
    const top = await client.getManifest(repo, ref.pullReference, [MANIFEST_ACCEPT]);
    const parsedTop = parseManifest(top.bytes, top.mediaType, { image, ...(ref.digest ? { digest: ref.digest } : {}) });
    const blobs: [string, Buffer][] = [[parsedTop.digest, top.bytes]];
    let manifest: ImageManifest;
    let manifestDigest = parsedTop.digest;
    if (parsedTop.kind === 'index') {
      const chosen: Descriptor = chooseManifest(parsedTop.index, wanted, image);
      const fetched = await client.getManifest(repo, chosen.digest, [MANIFEST_ACCEPT]);
      const parsed = parseManifest(fetched.bytes, fetched.mediaType, { image, digest: chosen.digest });
      if (parsed.kind !== 'manifest') throw new UserError('BAD_MANIFEST', `image ${image}: the index entry ${chosen.digest} is another index`, 'nested indexes are not supported; name the platform manifest by digest');
      manifest = parsed.manifest;
      manifestDigest = parsed.digest;
      blobs.push([parsed.digest, fetched.bytes]);
    } else {
      manifest = parsedTop.manifest;
    }
    // The config, and its DiffIDs against the layers.
    const configBytes = await readBlob(await client.getBlob(repo, manifest.config.digest, image), CONFIG_MAX_BYTES, image);
    const config = parseImageConfig(configBytes, { image, digest: manifest.config.digest });
    checkLayersMatchConfig(manifest, config, image);
    const warning = checkConfigPlatform(config, wanted, image, opts.platform !== undefined);
    if (warning) opts.onProgress?.({ kind: 'warning', message: warning });
    blobs.push([manifest.config.digest, configBytes]);
    const chains = chainIds(config.rootfs.diff_ids);
    opts.onProgress?.({ kind: 'resolved', image, digest: parsedTop.digest, layers: chains.length });

    const jobs = manifest.layers.map((layer, i) => ({ layer, diffId: config.rootfs.diff_ids[i]!, chainId: chains[i]! }));
    await eachLimited(jobs, PULL_CONCURRENCY, async ({ layer, diffId, chainId }) => {
      try {
        if (await store.hasLayer(chainId)) {
          opts.onProgress?.({ kind: 'layer', digest: layer.digest, chainId, state: 'exists' });
          return;
        }
        await store.withLayerLock(chainId, async () => {
          // Another process may have unpacked it while we waited for the lock.
          if (await store.hasLayer(chainId)) {
            opts.onProgress?.({ kind: 'layer', digest: layer.digest, chainId, state: 'exists' });
            return;
          }
          for (let attempt = 0; ; attempt++) {
            opts.onProgress?.({ kind: 'layer', digest: layer.digest, chainId, state: attempt ? 'retrying' : 'downloading' });
            try {
              const stream = await client.getBlob(repo, layer.digest, image);
              // The client's digest check can fire after unpackLayer's pipeline has settled (the tar
              // ended before the blob did); unpackLayer checks the digest itself, so none is lost.
              stream.on('error', () => undefined);
              await unpackLayer(stream, { dir: store.layerDir(chainId), mediaType: layer.mediaType, digest: layer.digest, diffId });
              break;
            } catch (e) {
              if (attempt >= 1 || !dropped(e)) throw e;
            }
          }
          opts.onProgress?.({ kind: 'layer', digest: layer.digest, chainId, state: 'done' });
        });
      } catch (e) {
        throw naming(e, image, layer.digest);
      }
    });

    for (const [digest, bytes] of blobs) await store.putBlob(digest, bytes);
    const record: ImageRecord = {
      name: ref.canonical,
      digest: parsedTop.digest,
      manifestDigest,
      configDigest: manifest.config.digest,
      platform: formatPlatform(normalizePlatform(config)),
      layers: chains,
      pulledAt: new Date().toISOString(),
    };
    await store.putRecord(record);
    return record;
  } catch (e) {
    throw naming(e, image);
  }
}

// Pulling an image into the store: the manifest resolved (an index → the platform's manifest),
// the config fetched and checked against the layers, the missing layers downloaded three at a
// time, each blob streamed straight into unpackLayer (the registry stream checks the blob's digest
// before it ends, unpackLayer the digest again and the DiffID)
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

/** Where a layer is: queued, already in the store, streaming (download and unpack at once), being fetched again after a dropped connection, or unpacked. */
export type LayerState = 'waiting' | 'exists' | 'downloading' | 'retrying' | 'done';

/** One layer's progress; a layer's last event is `exists` or `done`. */
export interface LayerProgress {
  readonly kind: 'layer';
  readonly image: string;
  /** The blob digest (the manifest's). */
  readonly digest: string;
  readonly chainId: string;
  readonly state: LayerState;
  /** Compressed size from the manifest descriptor. */
  readonly size: number;
  /** Bytes of the blob received so far in this attempt (0 unless downloading, retrying or done). */
  readonly downloaded: number;
}

/** How a pull ended. */
export interface PullDone {
  readonly kind: 'done';
  readonly image: string;
  /** The digest the reference resolved to (the index's when multi-platform). */
  readonly digest: string;
  readonly layers: number;
  /** The image's compressed size: its layers' descriptor sizes. */
  readonly size: number;
  /** Layers downloaded by this pull and their bytes (the rest were in the store). */
  readonly downloadedLayers: number;
  readonly downloaded: number;
  readonly durationMs: number;
  /** Nothing changed: the store already had this digest for the name and every layer. */
  readonly upToDate: boolean;
}

/**
 * One step of a pull, for a progress display: `resolved` once, then `layer` events (`waiting` for
 * each layer first; `downloading` repeats at most every LAYER_PROGRESS_MS with the byte count),
 * warnings, and `done` once the record is written.
 */
export type PullProgress =
  | { readonly kind: 'resolved'; readonly image: string; readonly digest: string; readonly layers: number; readonly size: number }
  | LayerProgress
  | PullDone
  | { readonly kind: 'warning'; readonly image: string; readonly message: string };

/** At most one `downloading` event per layer in this many milliseconds. */
export const LAYER_PROGRESS_MS = 100;

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
export function dropped(e: unknown): boolean {
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
    const namesImage = e.message.includes(image);
    const namesLayer = !layer || e.message.includes(layer);
    if (namesImage && namesLayer) return e;
    // unpackLayer's errors name the layer already: add only the image (no "layer X: layer X:").
    return new UserError(e.code, `${namesLayer ? `pulling ${image}` : where}: ${e.message}`, e.hint, { cause: e });
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
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
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
  const started = Date.now();
  // A display's failure must not fail the pull.
  const emit = (event: PullProgress): void => {
    try {
      opts.onProgress?.(event);
    } catch {
      // ignored
    }
  };
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
    if (warning) emit({ kind: 'warning', image, message: warning });
    blobs.push([manifest.config.digest, configBytes]);
    const chains = chainIds(config.rootfs.diff_ids);
    const size = manifest.layers.reduce((sum, l) => sum + l.size, 0);
    emit({ kind: 'resolved', image, digest: parsedTop.digest, layers: chains.length, size });

    const jobs = manifest.layers.map((layer, i) => ({ layer, diffId: config.rootfs.diff_ids[i]!, chainId: chains[i]! }));
    let downloadedLayers = 0;
    let downloaded = 0;
    for (const { layer, chainId } of jobs) emit({ kind: 'layer', image, digest: layer.digest, chainId, state: 'waiting', size: layer.size, downloaded: 0 });
    await eachLimited(jobs, PULL_CONCURRENCY, async ({ layer, diffId, chainId }) => {
      const step = (state: LayerState, bytes = 0) => emit({ kind: 'layer', image, digest: layer.digest, chainId, state, size: layer.size, downloaded: bytes });
      try {
        if (await store.hasLayer(chainId)) {
          step('exists');
          return;
        }
        await store.withLayerLock(chainId, async () => {
          // Another process may have unpacked it while we waited for the lock.
          if (await store.hasLayer(chainId)) {
            step('exists');
            return;
          }
          let received = 0;
          for (let attempt = 0; ; attempt++) {
            const state = attempt ? 'retrying' : 'downloading';
            received = 0;
            step(state);
            let last = Date.now();
            try {
              // The stream checks the blob's digest before it ends, so a bad blob fails this unpack.
              const stream = await client.getBlob(repo, layer.digest, image, {
                onBytes: (total) => {
                  received = total;
                  const now = Date.now();
                  if (now - last < LAYER_PROGRESS_MS) return;
                  last = now;
                  step(state, total);
                },
              });
              await unpackLayer(stream, { dir: store.layerDir(chainId), mediaType: layer.mediaType, digest: layer.digest, diffId });
              break;
            } catch (e) {
              if (attempt >= 1 || !dropped(e)) throw e;
            }
          }
          downloadedLayers++;
          downloaded += received;
          step('done', received);
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
    const before = await store.getRecord(record.name).catch(() => undefined);
    await store.putRecord(record);
    emit({
      kind: 'done',
      image,
      digest: record.digest,
      layers: chains.length,
      size,
      downloadedLayers,
      downloaded,
      durationMs: Date.now() - started,
      upToDate: downloadedLayers === 0 && before?.digest === record.digest,
    });
    return record;
  } catch (e) {
    throw naming(e, image);
  }
}

// Pushes an image of the store to the registry its name names (`stack push`, compose's push of a
// service that is built and names its image). The image's config goes as it is, so its ID is the
// same on both sides; its manifest is made for the push, one layer descriptor at a time:
// - a layer the registry has already (under the descriptor of any image of the store that has
//   that layer at that place) is named, not sent;
// - a layer some image was pulled with (a base image's, kept unpacked only) goes as that image's
//   blob: mounted from its repository when it is on the same registry, else read from its
//   registry as the push sends it (its digest checked on the way, and by the receiving registry);
// - a layer built here goes as the uncompressed tar whose sha256 is its DiffID
//   (layer-digest.ts writes those very bytes).
import { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { layerDiffId, layerTarStream } from './layer-digest.js';
import { MediaType, layerKind } from './manifest.js';
import { eachLimited } from './pull.js';
import { parseImageReference, type ImageReference } from './reference.js';
import { RegistryClient, type BlobPushed, type RegistryCredentials } from './registry.js';
import type { ImageRecord, ImageStore } from './store.js';

/** How to push. */
export interface PushOptions {
  readonly store: ImageStore;
  /** The credentials for a registry (the one pushed to, and one a base layer is read from). */
  readonly credentialsFor: (registry: string) => RegistryCredentials | undefined;
  readonly insecure?: readonly string[];
  readonly timeoutMs?: number;
  /** Told of each layer as it is done (for a progress display). */
  readonly onLayer?: (done: number, total: number, how: BlobPushed) => void;
}

/** What a push did. */
export interface PushResult {
  /** The pushed manifest's digest (what `image@digest` names on the registry). */
  readonly digest: string;
  /** Layers (and the config) by what was done with them. */
  readonly uploaded: number;
  readonly existed: number;
  readonly mounted: number;
}

/** A descriptor as a manifest lists it. */
interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** Where a layer's blob comes from: an image pulled from a registry, or this store's layer folder. */
type Source = { readonly kind: 'pulled'; readonly from: ImageReference; readonly descriptor: Descriptor } | { readonly kind: 'local'; readonly chainId: string; readonly descriptor: Descriptor };

/** How many layers go at once. */
const PUSH_CONCURRENCY = 3;

/** Docker's layer media types as the OCI manifest names the same formats. */
const AS_OCI: Readonly<Record<string, string>> = {
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayerZstd]: MediaType.ociLayerZstd,
};

/** The parsed JSON of a stored blob (a manifest or a config), or a UserError naming the image. */
async function storedJson(store: ImageStore, digest: string, image: string, what: string): Promise<Record<string, unknown>> {
  const bytes = await store.readBlob(digest);
  if (bytes === undefined) throw new UserError('IMAGE_INCOMPLETE', `the ${what} of ${image} (${digest}) is missing from the image store`, `pull or build ${image} again`);
  try {
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError('IMAGE_INCOMPLETE', `the ${what} of ${image} (${digest}) in the image store is not JSON`, `pull or build ${image} again`, { cause: e });
  }
}

/** The layer descriptors of a stored manifest (none when it has no usable list). */
function layersOf(manifest: Record<string, unknown>): Descriptor[] {
  const layers = manifest.layers;
  if (!Array.isArray(layers)) return [];
  return layers.map((l) => l as Partial<Descriptor>).filter((l): l is Descriptor => typeof l.digest === 'string' && typeof l.mediaType === 'string' && typeof l.size === 'number');
}

/**
 * For each layer of `record`, where its blob comes from: the descriptor of an image pulled with
 * that layer at that place (its ChainID says the layers under it are the same too), else the
 * store's own folder of it.
 */
async function layerSources(store: ImageStore, record: ImageRecord, own: readonly Descriptor[], image: string): Promise<Source[]> {
  const others = (await store.listRecords()).filter((r) => r.name !== record.name && r.layers.length > 0);
  const pulled = new Map<number, Source>();
  for (const other of others) {
    const shared = record.layers.findIndex((chainId, i) => other.layers[i] !== chainId);
    const depth = shared === -1 ? Math.min(record.layers.length, other.layers.length) : shared;
    if (depth === 0) continue;
    let descriptors: Descriptor[];
    let from: ImageReference;
    try {
      descriptors = layersOf(await storedJson(store, other.manifestDigest, other.name, 'manifest'));
      from = parseImageReference(other.name);
    } catch {
      continue; // a record of no use here
    }
    for (let i = 0; i < depth; i++) {
      const d = descriptors[i];
      // A built image's manifest names its layers by DiffID, uncompressed: no registry blob of it to read.
      if (d === undefined || pulled.has(i) || d.digest === own[i]?.digest || layerKind(d.mediaType)?.foreign !== false) continue;
      pulled.set(i, { kind: 'pulled', from, descriptor: d });
    }
  }
  return record.layers.map((chainId, i) => {
    const descriptor = own[i];
    if (descriptor === undefined) throw new UserError('IMAGE_INCOMPLETE', `the manifest of ${image} in the image store lists fewer layers than its record`, `pull or build ${image} again`);
    return pulled.get(i) ?? { kind: 'local', chainId, descriptor };
  });
}

/** Pushes `reference` (an image of the store, by the name it has there) to its registry; throws a UserError naming it. */
export async function pushImage(reference: string, opts: PushOptions): Promise<PushResult> {
  const ref = parseImageReference(reference);
  const image = ref.familiar;
  if (ref.digest !== undefined) throw new UserError('IMAGE_REFERENCE_INVALID', `${image} names a digest: a push needs a tag to put the image under`, 'name the image with a tag (`name:tag`) in the service\'s image:');
  const { store } = opts;
  const record = await store.getRecord(ref.canonical);
  if (record === undefined) throw new UserError('IMAGE_NOT_IN_STORE', `${image} is not in the image store`, 'build it first (`stack build`), or pull it');
  const client = clientFor(ref.registry, opts);
  const manifest = await storedJson(store, record.manifestDigest, image, 'manifest');
  const config = manifest.config as Partial<Descriptor> | undefined;
  if (typeof config?.digest !== 'string' || typeof config.mediaType !== 'string' || config.digest !== record.configDigest) {
    throw new UserError('IMAGE_INCOMPLETE', `the manifest of ${image} in the image store names no usable config`, `pull or build ${image} again`);
  }
  const configBytes = await store.readBlob(record.configDigest);
  if (configBytes === undefined) throw new UserError('IMAGE_INCOMPLETE', `the config of ${image} (${record.configDigest}) is missing from the image store`, `pull or build ${image} again`);
  const sources = await layerSources(store, record, layersOf(manifest), image);
  const counts = { uploaded: 0, existed: 0, mounted: 0 };
  const pushedLayers: Descriptor[] = new Array<Descriptor>(sources.length);
  const readers = new Map<string, RegistryClient>();
  let done = 0;
  await eachLimited([...sources.keys()], PUSH_CONCURRENCY, async (i) => {
    const source = sources[i]!;
    const d = source.descriptor;
    let how: BlobPushed;
    let size = d.size;
    if (source.kind === 'local') {
      const dir = store.layerDir(source.chainId);
      // A base image's layer has no size in a built manifest (0): its tar is measured, and must be the layer.
      if (size === 0) {
        const own = await layerDiffId(dir);
        if (own.diffId !== d.digest) {
          throw new UserError('PUSH_BASE_LAYER_MISSING', `layer ${i + 1} of ${image} (${d.digest}) comes from its base image, which is no longer in the image store as it was pulled`, `pull the base image again (stack build --pull), then push`);
        }
        size = own.size;
      }
      how = await client.pushBlob(ref.repository, d.digest, size, () => layerTarStream(dir), image);
    } else {
      const from = source.from;
      const reader = () => {
        let c = readers.get(from.registry);
        if (c === undefined) readers.set(from.registry, (c = clientFor(from.registry, opts)));
        return c;
      };
      // The blob is read from its registry only when this one lacks it and cannot mount it.
      let stream: Readable | undefined;
      const open = async () => (stream = await reader().getBlob(from.repository, d.digest, from.familiar));
      how = await client.pushBlob(ref.repository, d.digest, d.size, () => streamOnce(open), image, from.registry === ref.registry ? from.repository : undefined);
      stream?.destroy();
    }
    pushedLayers[i] = { mediaType: AS_OCI[d.mediaType] ?? d.mediaType, digest: d.digest, size };
    counts[how]++;
    opts.onLayer?.(++done, sources.length, how);
  });
  counts[await client.pushBlob(ref.repository, record.configDigest, configBytes.length, () => configBytes, image)]++;
  const pushedManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: record.configDigest, size: configBytes.length },
      layers: pushedLayers,
    }),
  );
  const digest = await client.putManifest(ref.repository, ref.tag ?? 'latest', MediaType.ociManifest, pushedManifest, image);
  return { digest, ...counts };
}

/** A client of `registry` with its credentials and the push's options. */
function clientFor(registry: string, opts: PushOptions): RegistryClient {
  const credentials = opts.credentialsFor(registry);
  return new RegistryClient({
    registry,
    ...(opts.insecure !== undefined && { insecure: opts.insecure }),
    ...(credentials !== undefined && { credentials }),
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
  });
}

/**
 * A stream that opens its source (a blob read from another registry) when first read: the
 * upload's body, made at once, while the source's request is awaited only once the upload
 * begins. A source that fails to open fails the stream, so the upload with it.
 */
function streamOnce(open: () => Promise<Readable>): Readable {
  return Readable.from(
    (async function* () {
      const source = await open();
      for await (const chunk of source) yield chunk as Buffer;
    })(),
    { objectMode: false },
  );
}

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
import { dropped, eachLimited } from './pull.js';
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

/** Where a layer's blob may come from: an image pulled from a registry, or this store's layer folder. */
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
 * For each layer of `record`, where its blob may come from, the likeliest first: the blobs it
 * was pulled as by images of the store that have that layer at that place (its ChainID says the
 * layers under it are the same too), those on the registry pushed to first (a mount); then the
 * store's own folder of it. A built image's record is no source: its manifest names its layers
 * by DiffID, as the tars the folders give.
 */
async function layerSources(store: ImageStore, record: ImageRecord, own: readonly Descriptor[], image: string, registry: string): Promise<Source[][]> {
  const others = (await store.listRecords()).filter((r) => r.name !== record.name && r.built !== true && r.layers.length > 0);
  const pulled = record.layers.map((): Source[] => []);
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
      // No blob of a registry: a layer named by its DiffID with no size (an image built before
      // records said so), or one another record offers already.
      if (d === undefined || layerKind(d.mediaType)?.foreign !== false || d.size <= 0 || d.digest === own[i]?.digest) continue;
      if (pulled[i]!.some((s) => s.kind === 'pulled' && s.descriptor.digest === d.digest && s.from.registry === from.registry && s.from.repository === from.repository)) continue;
      pulled[i]!.push({ kind: 'pulled', from, descriptor: d });
    }
  }
  return record.layers.map((chainId, i) => {
    const descriptor = own[i];
    if (descriptor === undefined) throw new UserError('IMAGE_INCOMPLETE', `the manifest of ${image} in the image store lists fewer layers than its record`, `pull or build ${image} again`);
    const mountable = (s: Source) => (s.kind === 'pulled' && s.from.registry === registry ? 0 : 1);
    return [...pulled[i]!.sort((a, b) => mountable(a) - mountable(b)), { kind: 'local', chainId, descriptor }];
  });
}

/** A layer folder's failure to be read as a UserError naming the image and the layer. */
function unreadable(e: unknown, image: string, i: number, dir: string): UserError {
  if (e instanceof UserError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
  return new UserError('PUSH_LAYER_UNREADABLE', `layer ${i + 1} of ${image}: its folder ${dir} in the image store cannot be read (${code})`, `the image store lost part of ${image}: build (or pull) it again, then push`, { cause: e });
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
  const sources = await layerSources(store, record, layersOf(manifest), image, ref.registry);
  const counts = { uploaded: 0, existed: 0, mounted: 0 };
  const pushedLayers: Descriptor[] = new Array<Descriptor>(sources.length);
  const readers = new Map<string, RegistryClient>();
  const reader = (registry: string) => {
    let c = readers.get(registry);
    if (c === undefined) readers.set(registry, (c = clientFor(registry, opts)));
    return c;
  };
  /**
   * Sends layer `i` from `source`: what was done, and the descriptor the manifest names it by.
   * `fault.source` is set when what failed was the reading of the source (its registry, the
   * layer folder), not the registry pushed to.
   */
  const send = async (i: number, source: Source, fault: { source: boolean }): Promise<{ how: BlobPushed; descriptor: Descriptor }> => {
    const d = source.descriptor;
    if (source.kind === 'local') {
      const dir = store.layerDir(source.chainId);
      // A base image's layer has no size in a built manifest (0): its tar is measured (and must
      // be the layer) unless the registry has the blob and says its size.
      let size = d.size;
      const there = await client.blobSize(ref.repository, d.digest, image);
      if (size === 0 && there !== undefined && there > 0) size = there;
      if (size === 0) {
        const measured = await layerDiffId(dir).catch((e: unknown) => {
          fault.source = true;
          return Promise.reject(unreadable(e, image, i, dir));
        });
        if (measured.diffId !== d.digest) {
          fault.source = true;
          throw new UserError('PUSH_BASE_LAYER_MISSING', `layer ${i + 1} of ${image} (${d.digest}) comes from its base image, whose blob no image of the store was pulled with any more`, 'pull the base image again (`stack build --pull`), then push');
        }
        size = measured.size;
      }
      if (there !== undefined) return { how: 'existed', descriptor: { ...d, size } };
      // Its failures as UserErrors: the upload that reads it fails with the cause said.
      const tar = () => sourceStream(async () => layerTarStream(dir), fault, (e) => unreadable(e, image, i, dir));
      const how = await client.uploadBlob(ref.repository, d.digest, size, tar, image);
      return { how, descriptor: { ...d, size } };
    }
    // The blob is read from its registry only when this one lacks it and cannot mount it (each
    // try of the upload opens it anew: all are closed at the end).
    const from = source.from;
    const opened: Readable[] = [];
    const open = async () => {
      const stream = await reader(from.registry).getBlob(from.repository, d.digest, from.familiar);
      opened.push(stream);
      return stream;
    };
    try {
      const how = await client.pushBlob(ref.repository, d.digest, d.size, () => sourceStream(open, fault), image, from.registry === ref.registry ? from.repository : undefined);
      return { how, descriptor: d };
    } finally {
      for (const stream of opened) stream.destroy();
    }
  };
  await eachLimited([...sources.keys()], PUSH_CONCURRENCY, async (i) => {
    // Each source in turn while what fails is the source (one more try of one whose connection
    // dropped), the first source's failure said when none is left; the registry's own refusal
    // ends the push of the layer.
    let first: unknown;
    let sent: { how: BlobPushed; descriptor: Descriptor } | undefined;
    for (const source of sources[i]!) {
      const fault = { source: false };
      for (let attempt = 0; sent === undefined; attempt++) {
        fault.source = false;
        try {
          sent = await send(i, source, fault);
        } catch (e) {
          first ??= e;
          if (attempt === 0 && dropped(e)) continue;
          if (!fault.source) throw e; // the registry pushed to refused: no other source changes that
          break;
        }
      }
      if (sent !== undefined) break;
    }
    if (sent === undefined) throw first;
    const d = sent.descriptor;
    pushedLayers[i] = { mediaType: AS_OCI[d.mediaType] ?? d.mediaType, digest: d.digest, size: d.size };
    counts[sent.how]++;
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
 * An upload's body read from a source opened when first read (a blob of another registry, a
 * layer folder's tar): the upload is made at once, the source's request or walk begins with the
 * upload. A failure of the source fails the stream (so the upload with it) as `mapError` says,
 * `fault.source` set.
 */
function sourceStream(open: () => Promise<AsyncIterable<unknown>>, fault: { source: boolean }, mapError: (e: unknown) => unknown = (e) => e): Readable {
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of await open()) yield chunk as Buffer;
      } catch (e) {
        fault.source = true;
        throw mapError(e);
      }
    })(),
    { objectMode: false },
  );
}

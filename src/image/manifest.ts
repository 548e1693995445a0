// Manifests and image configs as registries serve them: the OCI image index and manifest, the
// Docker manifest list and schema 2 manifest, and the image config. Bytes come from a registry
// (hostile input): each parse checks the digest of the exact bytes, the shape and the media type,
// and answers a typed value or a UserError naming the image.
import { createHash } from 'node:crypto';
import { z } from '../zod.js';
import { UserError } from '../errors.js';
import { digestProblem } from './reference.js';

/** Media types of manifests, configs and layers. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The Accept header a pull sends for a manifest: every kind this module parses. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest,
].join(', ');

/** The largest manifest or config read (containerd's limit for manifests is 4 MiB). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** The largest image config read. */
export const CONFIG_MAX_BYTES = 8 * 1024 * 1024;

/** How a layer blob is compressed. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** What a layer's media type says: its compression, and whether it is foreign (not in the registry). */
export interface LayerKind {
  readonly compression: LayerCompression;
  /** Docker's foreign or OCI's non-distributable layers: the blob may live elsewhere (`urls`). */
  readonly foreign: boolean;
}

const LAYER_KINDS: Readonly<Record<string, LayerKind>> = {
  [MediaType.ociLayer]: { compression: 'none', foreign: false },
  [MediaType.ociLayerGzip]: { compression: 'gzip', foreign: false },
  [MediaType.ociLayerZstd]: { compression: 'zstd', foreign: false },
  [MediaType.ociLayerNonDistributable]: { compression: 'none', foreign: true },
  [MediaType.ociLayerNonDistributableGzip]: { compression: 'gzip', foreign: true },
  [MediaType.ociLayerNonDistributableZstd]: { compression: 'zstd', foreign: true },
  [MediaType.dockerLayer]: { compression: 'none', foreign: false },
  [MediaType.dockerLayerGzip]: { compression: 'gzip', foreign: false },
  [MediaType.dockerLayerZstd]: { compression: 'zstd', foreign: false },
  [MediaType.dockerLayerForeignGzip]: { compression: 'gzip', foreign: true },
};

/** The kind of a layer media type, or undefined for one that is not a filesystem layer. */
export function layerKind(mediaType: string): LayerKind | undefined {
  return Object.hasOwn(LAYER_KINDS, mediaType) ? LAYER_KINDS[mediaType] : undefined;
}

const digestString = z.string().max(7 + 1 + 128).superRefine((d, ctx) => {
  const problem = digestProblem(d);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const stringMap = z.record(z.string(), z.string());

/** The platform of an index entry (OCI image-spec `platform`). */
export const PlatformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
/** The platform of an index entry. */
export type Platform = z.infer<typeof PlatformSchema>;

/** A content descriptor: a blob by media type, digest and size. */
export const DescriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: digestString,
  size,
  urls: z.array(z.string()).nullish(),
  annotations: stringMap.nullish(),
  platform: PlatformSchema.optional(),
  artifactType: z.string().optional(),
});
/** A content descriptor. */
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** An OCI image index or a Docker manifest list. */
export const IndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema).max(10_000),
  annotations: stringMap.nullish(),
});
/** An OCI image index or a Docker manifest list. */
export type ImageIndex = z.infer<typeof IndexSchema>;

/** An OCI image manifest or a Docker schema 2 manifest. */
export const ManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema).max(10_000),
  annotations: stringMap.nullish(),
});
/** An OCI image manifest or a Docker schema 2 manifest. */
export type ImageManifest = z.infer<typeof ManifestSchema>;

const stringList = z.array(z.string()).nullish();
const nanoseconds = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();

/** The image config's `Healthcheck` (durations in nanoseconds, as Docker writes them). */
export const HealthcheckSchema = z.looseObject({
  Test: stringList,
  Interval: nanoseconds,
  Timeout: nanoseconds,
  StartPeriod: nanoseconds,
  StartInterval: nanoseconds,
  Retries: z.number().int().nonnegative().optional(),
});

/** The image config: how to run the image and its layers' DiffIDs. */
export const ImageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  created: z.string().optional(),
  config: z.looseObject({
    User: z.string().nullish(),
    ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
    Env: stringList,
    Entrypoint: stringList,
    Cmd: stringList,
    Volumes: z.record(z.string(), z.unknown()).nullish(),
    WorkingDir: z.string().nullish(),
    Labels: stringMap.nullish(),
    StopSignal: z.string().nullish(),
    Healthcheck: HealthcheckSchema.nullish(),
    ArgsEscaped: z.boolean().optional(),
  }).nullish(),
  rootfs: z.looseObject({
    type: z.literal('layers'),
    diff_ids: z.array(digestString).max(10_000),
  }),
  history: z.array(z.looseObject({ empty_layer: z.boolean().optional() })).nullish(),
});
/** The image config. */
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** A parsed manifest document: an index (to choose a platform from) or a single image's manifest. */
export type ParsedManifest =
  | { readonly kind: 'index'; readonly mediaType: string; readonly digest: string; readonly index: ImageIndex }
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly digest: string; readonly manifest: ImageManifest };

/** What a manifest or config came from, for messages. */
export interface BlobOrigin {
  /** The image as the user wrote it, e.g. `postgres:16`. */
  readonly image: string;
  /** The digest the bytes must have (from the reference, the index or the manifest); checked when given. */
  readonly digest?: string;
}

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const SCHEMA1_TYPES = new Set<string>([MediaType.dockerSchema1, MediaType.dockerSchema1Signed]);
const CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);
// Content types that say nothing: the body's mediaType (or its shape) decides.
const GENERIC_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream']);

/** The digest of bytes with a digest's algorithm (`sha256:…` by default). */
export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function badManifest(image: string, what: string, hint?: string): UserError {
  return new UserError('BAD_MANIFEST', `image ${image}: ${what}`, hint ?? 'the registry served something that is not a container image manifest; check the reference, or report it to whoever publishes the image');
}

/** Checks bytes against an expected digest; returns the digest they have. */
export function verifyDigest(bytes: Uint8Array, origin: BlobOrigin, what: string): string {
  if (origin.digest === undefined) return digestOf(bytes);
  const problem = digestProblem(origin.digest);
  if (problem) throw badManifest(origin.image, `${what}: ${problem}`);
  const algorithm = origin.digest.slice(0, origin.digest.indexOf(':'));
  const actual = digestOf(bytes, algorithm);
  if (actual !== origin.digest) {
    throw new UserError(
      'DIGEST_MISMATCH',
      `image ${origin.image}: the ${what} has digest ${actual}, expected ${origin.digest}`,
      'the registry (or something between it and you) served different content than was asked for; pull again, and if it persists do not trust this registry',
    );
  }
  return actual;
}

/** Refuses a document larger than a manifest or config can sensibly be, before hashing it. */
function checkSize(bytes: Uint8Array, image: string, what: string, max: number): void {
  if (bytes.byteLength > max) throw badManifest(image, `the ${what} is ${bytes.byteLength} bytes, more than the ${max} this reads`);
}

/** Bytes → JSON object, or a UserError naming the image. */
function parseJson(bytes: Uint8Array, image: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badManifest(image, `the ${what} is not UTF-8 text`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badManifest(image, `the ${what} is not JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badManifest(image, `the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** The first issues of a zod failure, one line. */
function issues(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`).join('; ');
}

/** The media type without parameters, lowercase (`application/json; charset=utf-8` → `application/json`). */
function bareType(contentType: string | undefined | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Parses a manifest or index from the bytes a registry served with its Content-Type. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined | null, origin: BlobOrigin): ParsedManifest {
  checkSize(bytes, origin.image, 'manifest', MANIFEST_MAX_BYTES);
  const digest = verifyDigest(bytes, origin, 'manifest');
  const json = parseJson(bytes, origin.image, 'manifest');
  const header = bareType(contentType);
  const body = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (json.schemaVersion === 1 || SCHEMA1_TYPES.has(header) || (body !== undefined && SCHEMA1_TYPES.has(body))) {
    throw badManifest(origin.image, 'it is a Docker schema 1 manifest, a format Docker itself no longer pulls',
      'push the image again with a current Docker, buildah or skopeo (they write schema 2 or OCI manifests)');
  }
  const mediaType = GENERIC_TYPES.has(header) ? (body ?? guessType(json)) : header;
  if (mediaType === undefined) throw badManifest(origin.image, `the manifest (Content-Type ${JSON.stringify(header)}) has no mediaType and is neither an index nor an image manifest`);
  if (body !== undefined && body !== mediaType) {
    throw badManifest(origin.image, `the registry says the manifest is ${mediaType} but the manifest says ${body}`);
  }
  if (INDEX_TYPES.has(mediaType)) {
    if ('config' in json || 'layers' in json) throw badManifest(origin.image, `the ${mediaType} also has config or layers, as a manifest would: ambiguous`);
    const r = IndexSchema.safeParse(json);
    if (!r.success) throw badManifest(origin.image, `the image index is malformed: ${issues(r.error)}`);
    return { kind: 'index', mediaType, digest, index: r.data };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    if ('manifests' in json) throw badManifest(origin.image, `the ${mediaType} also has manifests, as an index would: ambiguous`);
    const r = ManifestSchema.safeParse(json);
    if (!r.success) throw badManifest(origin.image, `the image manifest is malformed: ${issues(r.error)}`);
    const manifest = r.data;
    if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
      throw badManifest(origin.image, `it is not a container image (its config is ${JSON.stringify(manifest.config.mediaType)}, an artifact such as a Helm chart or a signature)`,
        'name an image that runs, e.g. `postgres:16`');
    }
    for (const layer of manifest.layers) {
      if (!layerKind(layer.mediaType)) throw badManifest(origin.image, `layer ${layer.digest} has media type ${JSON.stringify(layer.mediaType)}, not a filesystem layer (tar, tar+gzip or tar+zstd)`);
    }
    return { kind: 'manifest', mediaType, digest, manifest };
  }
  throw badManifest(origin.image, `the manifest's media type ${JSON.stringify(mediaType)} is not one of ${[...INDEX_TYPES, ...MANIFEST_TYPES].join(', ')}`);
}

/** The media type a document without one has, by its shape (as containers/image guesses). */
function guessType(json: Record<string, unknown>): string | undefined {
  if ('manifests' in json && !('layers' in json)) return MediaType.ociIndex;
  if ('config' in json && 'layers' in json) return MediaType.ociManifest;
  return undefined;
}

/** Parses an image config blob; `origin.digest` is the manifest's config digest (the image ID). */
export function parseImageConfig(bytes: Uint8Array, origin: BlobOrigin): ImageConfig {
  checkSize(bytes, origin.image, 'image config', CONFIG_MAX_BYTES);
  verifyDigest(bytes, origin, 'image config');
  const json = parseJson(bytes, origin.image, 'image config');
  const r = ImageConfigSchema.safeParse(json);
  if (!r.success) throw badManifest(origin.image, `the image config is malformed: ${issues(r.error)}`);
  return r.data;
}

/** Checks that a manifest's layers and its config's DiffIDs pair up one to one. */
export function checkLayersMatchConfig(manifest: ImageManifest, config: ImageConfig, image: string): void {
  const layers = manifest.layers.length;
  const diffIds = config.rootfs.diff_ids.length;
  if (layers !== diffIds) {
    throw badManifest(image, `the manifest has ${layers} layer${layers === 1 ? '' : 's'} but the image config lists ${diffIds} DiffID${diffIds === 1 ? '' : 's'}`);
  }
}

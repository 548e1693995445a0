// A small client of the OCI distribution protocol on Node's fetch: manifests and blobs of one
// registry, the 401 challenge flow (Basic, Bearer tokens with expiry), redirects followed by hand
// so no Authorization header reaches another host, every blob's sha256 checked while it streams
// (inside the one stream the caller reads, so a mismatch fails that read and nothing after it),
// and each failure a UserError naming the registry or image.
import { trustDeferredCertificates } from '../sys/tls-ca.js';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UserError } from '../errors.js';
import { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
import { digestOf } from './manifest.js';
import { registryEndpoint } from './reference.js';

/** A user name and password (or token) for a registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** How to reach one registry. */
export interface RegistryClientOptions {
  /** Host with optional port, e.g. `ghcr.io`, `127.0.0.1:5000`; `docker.io` means Docker Hub. */
  registry: string;
  /** Registries (host[:port]) the user lists as insecure: spoken to over http. */
  insecure?: readonly string[];
  credentials?: RegistryCredentials;
  /** Milliseconds to wait for a connection and the response headers, and between body chunks. */
  timeoutMs?: number;
}

/** Options of one blob download. */
export interface BlobOptions {
  /** Called with the bytes received so far after each chunk (for a progress display). */
  onBytes?: (total: number) => void;
}

/** A manifest as the registry sent it. */
export interface FetchedManifest {
  bytes: Buffer;
  /** Content-Type without parameters, or the manifest's own `mediaType` when none was sent. */
  mediaType: string;
  /** sha256 of the bytes (the same as Docker-Content-Digest when the registry sends it). */
  digest: string;
}

/** A request other than a GET: its method, and its body, made anew for each try (a 401's answer sends it again). */
interface Send {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  body?: () => Buffer | Readable;
}

/** What pushBlob did with a blob: uploaded it, found it on the registry already, or mounted it from another repository there. */
export type BlobPushed = 'uploaded' | 'existed' | 'mounted';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Where credentials.ts looks, for the hint of a refused pull. */
const CREDENTIAL_FILES = "$REGISTRY_AUTH_FILE if set, else $DOCKER_CONFIG/config.json or ~/.docker/config.json, then podman's auth.json";
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Where fetchOnce leaves a response's AbortController, for the body's idle timer. */
const ABORT = Symbol('abort');

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Refuses a digest that is not sha256 (it becomes a URL path). */
function checkDigest(digest: string, image: string): void {
  if (!DIGEST.test(digest)) throw new UserError('BLOB_DIGEST_INVALID', `${image} names a blob with an unsupported digest: ${JSON.stringify(digest.slice(0, 100))}`, 'only sha256 digests are supported');
}

/** The token scope a push of `repo` asks for. */
const pushScope = (repo: string): string => `repository:${repo}:pull,push`;

/** Refuses a repository name the distribution spec does not allow (it becomes a URL path). */
function checkRepo(repo: string, image: string): void {
  if (repo.length > 255 || !REPO.test(repo)) {
    throw new UserError('IMAGE_REFERENCE_INVALID', `${JSON.stringify(image)} has an invalid repository name`, 'a repository is lower-case path components of letters, digits and . _ - separators');
  }
}

/** Whether `registry` (host[:port]) is spoken to over http: loopback names and listed ones. */
export function isInsecureRegistry(registry: string, insecure: readonly string[] = []): boolean {
  if (insecure.includes(registry)) return true;
  const host = new URL(`http://${registry}`).hostname;
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
}

/** A client of one registry. */
export class RegistryClient {
  readonly registry: string;
  private readonly base: string;
  private readonly credentials: RegistryCredentials | undefined;
  private readonly timeoutMs: number;
  /** Authorization per scope ('' for Basic): the header value and when it stops being good. */
  private readonly auth = new Map<string, { header: string; expires: number }>();

  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.base = registryEndpoint(opts.registry, isInsecureRegistry(opts.registry, opts.insecure));
    this.credentials = opts.credentials;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The manifest `ref` (tag or digest) of `repo`, asking for the media types in `accept`. */
  async getManifest(repo: string, ref: string, accept: readonly string[]): Promise<FetchedManifest> {
    const image = this.imageName(repo, ref);
    checkRepo(repo, image);
    if (!TAG.test(ref) && !DIGEST.test(ref)) {
      throw new UserError('IMAGE_REFERENCE_INVALID', `${JSON.stringify(image)} has an invalid tag or digest`, 'a tag is letters, digits, _, . and - (up to 128); a digest is sha256: and 64 hex digits');
    }
    const res = await this.request(repo, `/v2/${repo}/manifests/${ref}`, { Accept: accept.join(', ') }, image, 'manifest');
    const bytes = await this.readAll(res, image, 'manifest');
    const digest = digestOf(bytes);
    const claimed = res.headers.get('docker-content-digest');
    const expected = DIGEST.test(ref) ? ref : claimed?.startsWith('sha256:') ? claimed : undefined;
    if (expected && expected !== digest) {
      throw new UserError(
        'MANIFEST_DIGEST_MISMATCH',
        `the manifest of ${image} has digest ${digest}, but ${expected} was expected`,
        'the registry sent different bytes than it names; try again, or report it to the registry operator',
      );
    }
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
      try {
        const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
        if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
      } catch {
        // Not JSON: the caller rejects it by its media type.
      }
    }
    return { bytes, mediaType, digest };
  }

  /**
   * The blob `digest` of `repo` as one stream that hashes what it yields and fails with
   * BLOB_DIGEST_MISMATCH before it ends when the bytes do not match: a consumer never sees the
   * end of a bad blob, and no error is emitted once the consumer has destroyed the stream.
   * `onBytes` hears the running byte count after each chunk.
   */
  async getBlob(repo: string, digest: string, image = `${this.registry}/${repo}`, opts: BlobOptions = {}): Promise<Readable> {
    checkDigest(digest, image);
    checkRepo(repo, image);
    const res = await this.request(repo, `/v2/${repo}/blobs/${digest}`, {}, image, 'blob', digest);
    return Readable.from(this.verifiedChunks(this.bodyOf(res, image), digest, image, opts.onBytes), { objectMode: false });
  }

  /**
   * Whether the registry has blob `digest` in `repo` (HEAD): its size when it does (0 when the
   * answer does not say it: a redirect to the storage that serves it), undefined when not (404).
   */
  async blobSize(repo: string, digest: string, image: string): Promise<number | undefined> {
    checkRepo(repo, image);
    const res = await this.push(repo, `${this.base}/v2/${repo}/blobs/${digest}`, {}, image, { method: 'HEAD' });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 404) return undefined;
    if (res.ok) {
      const length = Number(res.headers.get('content-length') ?? '');
      return Number.isSafeInteger(length) && length > 0 ? length : 0;
    }
    if (res.status >= 300 && res.status < 400) return 0;
    throw this.pushError(res.status, image, `the look for blob ${digest}`);
  }

  /**
   * Puts blob `digest` (`size` bytes, from `body`, called anew for each try) into `repo`: nothing
   * when the registry has it; a cross-repository mount when `mountFrom` (a repository of this
   * registry that has it) is given and the registry takes it (asked with pull access to that
   * repository too; one refused falls back to an upload, as Docker's does); else an upload in
   * one request (the distribution spec's monolithic upload: POST for a session, PUT of the bytes
   * with their digest, which the registry checks).
   */
  async pushBlob(repo: string, digest: string, size: number, body: () => Readable | Buffer, image: string, mountFrom?: string): Promise<BlobPushed> {
    checkDigest(digest, image);
    if ((await this.blobSize(repo, digest, image)) !== undefined) return 'existed';
    return this.uploadBlob(repo, digest, size, body, image, mountFrom);
  }

  /** pushBlob without its look for the blob (the caller looked): a mount or an upload. */
  async uploadBlob(repo: string, digest: string, size: number, body: () => Readable | Buffer, image: string, mountFrom?: string): Promise<'uploaded' | 'mounted'> {
    checkDigest(digest, image);
    const uploads = `${this.base}/v2/${repo}/blobs/uploads/`;
    let started: Response | undefined;
    if (mountFrom !== undefined && mountFrom !== repo) {
      checkRepo(mountFrom, image);
      const mount = `${uploads}?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`;
      try {
        started = await this.push(repo, mount, { 'Content-Length': '0' }, image, { method: 'POST' }, `${pushScope(repo)} repository:${mountFrom}:pull`);
      } catch (e) {
        if (!(e instanceof UserError && e.code === 'REGISTRY_AUTH')) throw e;
      }
      if (started?.status === 201) {
        await started.body?.cancel().catch(() => undefined);
        return 'mounted';
      }
      if (started !== undefined && started.status !== 202) {
        await started.body?.cancel().catch(() => undefined);
        started = undefined; // refused (no pull access there, say): an upload of its own
      }
    }
    started ??= await this.push(repo, uploads, { 'Content-Length': '0' }, image, { method: 'POST' });
    await started.body?.cancel().catch(() => undefined);
    if (started.status !== 202) throw this.pushError(started.status, image, `the start of an upload of blob ${digest}`);
    const location = started.headers.get('location');
    if (!location) throw new UserError('REGISTRY_ERROR', `${this.registry} started an upload of blob ${digest} for ${image} without saying where to send it (no Location)`, 'report it to the registry operator');
    let target: URL;
    try {
      target = new URL(location, this.base);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('not http');
    } catch {
      throw new UserError('REGISTRY_ERROR', `${this.registry} named an unusable upload location ${JSON.stringify(location.slice(0, 200))} for ${image}`, 'report it to the registry operator');
    }
    target.searchParams.set('digest', digest);
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
    const send: Send = { method: 'PUT', body };
    // The registry's own location gets its Authorization (a challenge answered, the bytes sent
    // again); another host's (a storage service) gets none.
    const res = target.origin === new URL(this.base).origin ? await this.push(repo, target.toString(), headers, image, send) : await this.fetchOnce(target.toString(), headers, image, send);
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 201) throw this.pushError(res.status, image, `the upload of blob ${digest}`);
    return 'uploaded';
  }

  /** Puts `bytes` as the manifest `tag` of `repo`; the digest the registry gives it (its Docker-Content-Digest, else the bytes'). */
  async putManifest(repo: string, tag: string, mediaType: string, bytes: Buffer, image: string): Promise<string> {
    checkRepo(repo, image);
    if (!TAG.test(tag) && !DIGEST.test(tag)) throw new UserError('IMAGE_REFERENCE_INVALID', `${JSON.stringify(image)} has an invalid tag`, 'a tag is letters, digits, _, . and - (up to 128)');
    const res = await this.push(repo, `${this.base}/v2/${repo}/manifests/${tag}`, { 'Content-Type': mediaType }, image, { method: 'PUT', body: () => bytes });
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 201 && res.status !== 200) throw this.pushError(res.status, image, `the manifest ${tag}`);
    const claimed = res.headers.get('docker-content-digest');
    return claimed !== null && DIGEST.test(claimed) ? claimed : digestOf(bytes);
  }

  /**
   * A request of a push to `url` (the registry's own), with push access to `repo` (or `scope`:
   * space-separated scopes): a 401's challenge is answered and the request sent once more, its
   * body made anew. The response whatever its status.
   */
  private async push(repo: string, url: string, headers: Record<string, string>, image: string, send: Send, scope = pushScope(repo)): Promise<Response> {
    return this.authorized(scope, image, 'push', (authorization) => this.fetchOnce(url, { ...headers, ...(authorization !== undefined && { Authorization: authorization }) }, image, send));
  }

  /**
   * `attempt` with the Authorization still good for `scope` (none at first); on a 401 the
   * challenge is answered and `attempt` made once more with what the answer gave.
   */
  private async authorized(scope: string, image: string, action: 'pull' | 'push', attempt: (authorization: string | undefined) => Promise<Response>): Promise<Response> {
    const res = await attempt(this.cachedAuth(scope));
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate');
    await res.body?.cancel().catch(() => undefined);
    return attempt(await this.answer(challenge, scope, image, action));
  }

  /** A UserError for a failure status of a push; `what` names the request (`the upload of blob X`). */
  private pushError(status: number, image: string, what: string): UserError {
    if (status === 401 || status === 403) {
      return new UserError(
        'REGISTRY_AUTH',
        `${this.registry} refused to let ${image} be pushed (HTTP ${status})`,
        this.credentials
          ? `the user name and password stack found for ${this.registry} (${CREDENTIAL_FILES}) were refused, or may not push there: log in again (docker login ${this.registry}) and check that this account may push to ${image}`
          : `log in to ${this.registry} (docker login ${this.registry}; stack reads ${CREDENTIAL_FILES})`,
      );
    }
    const hint =
      status === 404 ? 'check the image name: its first part is the registry it is pushed to, and that registry must take pushes'
      : status === 400 ? 'the registry refused what was sent (a digest or a manifest it does not take); report it if it persists'
      : status >= 500 ? 'the registry failed; try again later'
      : undefined;
    return new UserError('REGISTRY_ERROR', `${this.registry} answered HTTP ${status} to ${what} for ${image}`, hint);
  }

  /** The chunks of `body`, hashed as they pass; throws BLOB_DIGEST_MISMATCH instead of ending when the digest differs. */
  private async *verifiedChunks(body: Readable, digest: string, image: string, onBytes?: (total: number) => void): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let total = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk as Buffer);
        total += (chunk as Buffer).length;
        onBytes?.(total);
        yield chunk as Buffer;
      }
    } finally {
      body.destroy();
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) {
      throw new UserError('BLOB_DIGEST_MISMATCH', `blob ${digest} of ${image} arrived with digest ${got}`, 'the download was corrupted or the registry serves bad data; pull again, or report it to the registry operator');
    }
  }

  /** `registry/repo:tag` or `registry/repo@digest`, as messages name an image. */
  private imageName(repo: string, ref: string): string {
    return `${this.registry}/${repo}${DIGEST.test(ref) ? '@' : ':'}${ref}`;
  }

  /** A small response body (a manifest, a token) read whole, at most MAX_MANIFEST_BYTES. */
  private async readAll(res: Response, image: string, what: string): Promise<Buffer> {
    const tooBig = (size: number) =>
      new UserError('REGISTRY_RESPONSE_TOO_LARGE', `the ${what} of ${image} from ${this.registry} is ${size} bytes or more (at most ${MAX_MANIFEST_BYTES} are accepted)`, 'check the image reference; this does not look like a registry response');
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MAX_MANIFEST_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw tooBig(length);
    }
    const body = this.bodyOf(res, image);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += (chunk as Buffer).length;
        if (total > MAX_MANIFEST_BYTES) throw tooBig(total);
        chunks.push(chunk as Buffer);
      }
    } finally {
      body.destroy();
    }
    return Buffer.concat(chunks);
  }

  /**
   * The response body as a Node stream whose timer restarts on each chunk: a registry that stops
   * sending fails with REGISTRY_TIMEOUT instead of hanging.
   */
  private bodyOf(res: Response, image: string): Readable {
    if (!res.body) return Readable.from([]);
    const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
    const controller = (res as Response & { [ABORT]?: AbortController })[ABORT];
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        body.destroy(this.timeoutError(image));
        controller?.abort();
      }, this.timeoutMs);
    };
    arm();
    body.on('data', arm);
    body.on('close', () => clearTimeout(timer));
    const out = new Transform({ transform: (c, _e, cb) => cb(null, c) });
    body.on('error', (e) => out.destroy(this.mapError(e, image)));
    out.on('close', () => body.destroy());
    return body.pipe(out);
  }

  /**
   * GET `path` with authorization: on a 401 the challenge is answered and the request made once
   * more; redirects are followed here, without Authorization when they leave the registry's origin.
   */
  private async request(
    repo: string,
    path: string,
    headers: Record<string, string>,
    image: string,
    kind: 'manifest' | 'blob',
    digest?: string,
  ): Promise<Response> {
    const res = await this.authorized(`repository:${repo}:pull`, image, 'pull', (authorization) => this.follow(`${this.base}${path}`, headers, authorization, image));
    if (res.ok) return res;
    await res.body?.cancel().catch(() => undefined);
    throw this.statusError(res.status, image, kind, digest);
  }

  /** A UserError for an HTTP failure status. */
  private statusError(status: number, image: string, kind: 'manifest' | 'blob', digest?: string): UserError {
    if (status === 401 || status === 403) {
      return new UserError(
        'REGISTRY_AUTH',
        `${this.registry} refused access to ${image} (HTTP ${status})`,
        this.credentials
          ? `the user name and password stack found for ${this.registry} (${CREDENTIAL_FILES}) were refused: log in again (docker login ${this.registry}) and check that this account may pull ${image}`
          : `log in to ${this.registry} (docker login ${this.registry}; stack reads ${CREDENTIAL_FILES}), or check that ${image} is public and spelled right`,
      );
    }
    if (status === 404) {
      return kind === 'manifest'
        ? new UserError('IMAGE_NOT_FOUND', `${image} was not found on ${this.registry}`, 'check the image name and tag')
        : new UserError('BLOB_NOT_FOUND', `blob ${digest} of ${image} was not found on ${this.registry}`, 'the image is incomplete on the registry; push it again');
    }
    return new UserError('REGISTRY_ERROR', `${this.registry} answered HTTP ${status} for ${image}`, status >= 500 ? 'the registry failed; try again later' : undefined);
  }

  /** The Authorization value for `scope` still good from an earlier challenge, if any. */
  private cachedAuth(scope: string): string | undefined {
    for (const key of [scope, '']) {
      const hit = this.auth.get(key);
      if (hit && hit.expires > Date.now()) return hit.header;
    }
    return undefined;
  }

  /** Answers a 401's challenge: Basic with the credentials, or a Bearer token from the realm. */
  private async answer(header: string | null, scope: string, image: string, action: 'pull' | 'push' = 'pull'): Promise<string> {
    const challenges: AuthChallenge[] = header ? parseAuthChallenges(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    const basicHeader = this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
      : undefined;
    if (bearer) {
      const token = await this.fetchToken(bearer, scope, basicHeader, image);
      this.auth.set(scope, token);
      return token.header;
    }
    if (basic && basicHeader) {
      this.auth.set('', { header: basicHeader, expires: Infinity });
      return basicHeader;
    }
    throw action === 'push' ? this.pushError(401, image, 'a push') : this.statusError(401, image, 'manifest');
  }

  /** GET realm?service=&scope= (Basic credentials if any); `token` or `access_token`, with `expires_in`. */
  private async fetchToken(challenge: AuthChallenge, scope: string, basicHeader: string | undefined, image: string): Promise<{ header: string; expires: number }> {
    let url: URL;
    try {
      url = new URL(challenge.params.realm!);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
    } catch {
      throw new UserError('REGISTRY_ERROR', `${this.registry} names an unusable token realm ${JSON.stringify(challenge.params.realm)} for ${image}`, 'report it to the registry operator');
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const one of scope.split(' ')) url.searchParams.append('scope', one); // a mount asks for two
    const started = Date.now();
    const res = await this.fetchOnce(url.toString(), basicHeader ? { Authorization: basicHeader } : {}, image);
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw this.statusError(res.status === 404 ? 500 : res.status, image, 'manifest');
    }
    const text = (await this.readAll(res, image, 'token response')).toString('utf8');
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch (e) {
      throw new UserError('REGISTRY_ERROR', `the token server of ${this.registry} sent no usable token for ${image}`, 'try again later, or report it to the registry operator', { cause: e });
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new UserError('REGISTRY_ERROR', `the token server of ${this.registry} sent no token for ${image}`, 'try again later, or report it to the registry operator');
    // Docker's default lifetime is 60 s; renew 5 s early.
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { header: `Bearer ${token}`, expires: started + Math.max(0, seconds - 5) * 1000 };
  }

  /** GET following up to MAX_REDIRECTS redirects; Authorization only to the registry's own origin. */
  private async follow(url: string, headers: Record<string, string>, authorization: string | undefined, image: string): Promise<Response> {
    const origin = new URL(this.base).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      const res = await this.fetchOnce(current, { ...headers, ...(authorization && sameOrigin ? { Authorization: authorization } : {}) }, image);
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.get('location');
      await res.body?.cancel().catch(() => undefined);
      if (!location || hop >= MAX_REDIRECTS) {
        throw new UserError('REGISTRY_ERROR', `${this.registry} sent ${location ? 'too many redirects' : 'a redirect without a Location'} for ${image}`, 'report it to the registry operator');
      }
      const next = new URL(location, current);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new UserError('REGISTRY_ERROR', `${this.registry} redirected ${image} to an unsupported URL scheme ${next.protocol}`, 'report it to the registry operator');
      }
      current = next.toString();
    }
  }

  /**
   * One request (a GET unless `send` says otherwise) with a timeout on connecting, on each chunk
   * of a streamed body (a registry answers an upload once it has all of it, so the timer waits
   * for no more than one chunk) and on the response headers; network failures as UserErrors.
   */
  private async fetchOnce(url: string, headers: Record<string, string>, image: string, send: Send = {}): Promise<Response> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let settled = false; // a body undici still reads after the answer (an early 401) arms nothing more
    const arm = () => {
      clearTimeout(timer);
      if (!settled) timer = setTimeout(() => controller.abort(this.timeoutError(image)), this.timeoutMs);
    };
    arm();
    try {
      await trustDeferredCertificates();
      const made = send.body?.();
      const body = made instanceof Readable ? Readable.from(rearming(made, arm), { objectMode: false }) : made;
      const res = await fetch(url, {
        method: send.method ?? 'GET',
        headers,
        redirect: 'manual',
        signal: controller.signal,
        ...(body !== undefined && { body, duplex: 'half' }),
      } as unknown as Parameters<typeof fetch>[1]);
      (res as Response & { [ABORT]?: AbortController })[ABORT] = controller;
      return res;
    } catch (e) {
      throw this.mapError(e, image);
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  private timeoutError(image: string): UserError {
    return new UserError('REGISTRY_TIMEOUT', `${this.registry} did not answer within ${Math.round(this.timeoutMs / 1000)} s for ${image}`, 'check the network and the registry, then try again (STACK_REGISTRY_TIMEOUT sets the seconds to wait)');
  }

  /** A network-level failure as REGISTRY_TIMEOUT or REGISTRY_UNREACHABLE (a UserError passes through). */
  private mapError(e: unknown, image: string): UserError {
    // A UserError of the body (the blob being read from another registry, or from a layer folder) says what failed.
    for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 6; cur = (cur as { cause?: unknown }).cause, depth++) {
      if (cur instanceof UserError) return cur;
    }
    const err = e as { name?: string; code?: string; cause?: { code?: string; name?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.cause?.name === 'TimeoutError' || err.cause?.code === 'UND_ERR_HEADERS_TIMEOUT' || err.cause?.code === 'UND_ERR_CONNECT_TIMEOUT') {
      return this.timeoutError(image);
    }
    const code = err.cause?.code ?? err.code ?? err.cause?.message ?? String(e);
    return new UserError(
      'REGISTRY_UNREACHABLE',
      `cannot reach ${this.registry} for ${image} (${code})`,
      code === 'ECONNREFUSED' ? `nothing listens at ${this.base}; check the registry's host and port` : `check the registry's name and the network`,
      { cause: e },
    );
  }
}

/** The chunks of `body`, `arm` called before each: an idle timer over an upload. */
async function* rearming(body: Readable, arm: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    arm();
    yield chunk as Buffer;
  }
}

// The content-addressed image store: `blobs/sha256/<hex>` (manifests and configs, as fetched),
// `layers/<chainid hex>/` (unpacked layers, keyed by ChainID so a layer shared by images is kept
// once), `images/<escaped name>.json` (one record per pulled name), `locks/` (per-layer flocks).
// A layer folder exists only complete: unpackLayer builds it at `<dir>.partial-*` and renames it,
// under the layer's lock, so two `stack` processes never unpack the same layer at once and a
// SIGKILLed pull leaves only a `.partial-*` that readers ignore and cleanPartials() removes.
// A pull pins (pins.ts) each layer and blob it will name from the moment it sees or makes it until
// its record is written, so a concurrent removal (remove.ts) never takes one from under it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { listDir, readJson, writeJsonAtomic } from '../state/atomic.js';
import { acquireFileLock } from '../state/lock.js';
import { RECORD_FILE_MODE, STATE_DIR_MODE, stateRoots, type StateRoots } from '../state/paths.js';
import { digestOf } from './manifest.js';
import { imageStoreDir } from './paths.js';
import { pin, unpin } from './pins.js';

/** What the store knows of one pulled image name. */
export interface ImageRecord {
  /** The canonical reference pulled, e.g. `docker.io/library/postgres:16`. */
  readonly name: string;
  /** The digest the name resolved to (an index's or the manifest's): Docker's RepoDigest. */
  readonly digest: string;
  /** The digest of the platform's image manifest (equal to `digest` when there was no index). */
  readonly manifestDigest: string;
  /** The image config's digest (the image ID). */
  readonly configDigest: string;
  /** `os/architecture[/variant]` of the config. */
  readonly platform: string;
  /** ChainIDs of the layers, bottom first; each is a folder under layers/. */
  readonly layers: readonly string[];
  /** ISO time of the pull. */
  readonly pulledAt: string;
  /** Made by a build here (its manifest names its layers by DiffID, as no registry holds them yet). */
  readonly built?: true;
}

const SHA256 = /^sha256:([a-f0-9]{64})$/;
const PARTIAL = /^([a-f0-9]{64})\.partial-[a-z0-9]+$/;

/** The hex of a sha256 digest, or a UserError naming what it belongs to. */
function hexOf(digest: string, what: string): string {
  const m = SHA256.exec(digest);
  if (!m) throw new UserError('BLOB_DIGEST_INVALID', `${what}: ${JSON.stringify(digest.slice(0, 100))} is not a sha256 digest`, 'only sha256 digests are supported');
  return m[1]!;
}

/** ChainIDs from DiffIDs as the OCI image spec defines them: ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out.at(-1);
    out.push(previous === undefined ? diffId : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** An image name as one file name: percent-escaped; a long one shortened with its sha256. */
export function escapeImageName(name: string): string {
  const escaped = encodeURIComponent(name).replace(/[!'()*~.]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (escaped.length <= 200) return escaped;
  return `${escaped.slice(0, 120)}-${createHash('sha256').update(name).digest('hex')}`;
}

/** One image store on disk. */
export class ImageStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The store of the state root (STACK_ROOT or /var/lib/stack). */
  static forRoots(roots: StateRoots = stateRoots()): ImageStore {
    return new ImageStore(imageStoreDir(roots));
  }

  /** Where the blob `digest` is kept. */
  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest, 'blob'));
  }

  /** The folder of the unpacked layer with ChainID `chainId`. */
  layerDir(chainId: string): string {
    return join(this.root, 'layers', hexOf(chainId, 'layer'));
  }

  /** The record file of an image name. */
  recordPath(name: string): string {
    return join(this.root, 'images', `${escapeImageName(name)}.json`);
  }

  /** Makes the store's folders (0700; layers/ must be ours alone for unpackLayer). */
  async init(): Promise<void> {
    for (const sub of ['blobs/sha256', 'layers', 'images']) await mkdir(join(this.root, sub), { recursive: true, mode: STATE_DIR_MODE });
  }

  /** Whether the blob is stored. */
  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /** Stores `bytes` as blob `digest` atomically (temp + rename, 0600), refusing bytes of another digest. */
  async putBlob(digest: string, bytes: Uint8Array): Promise<void> {
    const path = this.blobPath(digest);
    await pin(this.pinPath('blob', digest));
    const got = digestOf(bytes);
    if (got !== digest) throw new UserError('BLOB_DIGEST_MISMATCH', `blob ${digest} to store has digest ${got}`, 'this is a bug in stack; report it');
    if (await exists(path)) return;
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: STATE_DIR_MODE });
    const tmp = `${path}.partial-${randomBytes(6).toString('hex')}`;
    try {
      const handle = await open(tmp, 'wx', RECORD_FILE_MODE);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** The bytes of a stored blob, or undefined. */
  async readBlob(digest: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** The pin file of a layer (`locks/<hex>.pin`) or of a blob (`locks/blob-<hex>.pin`). */
  pinPath(kind: 'layer' | 'blob', digest: string): string {
    return join(this.root, 'locks', `${kind === 'blob' ? 'blob-' : ''}${hexOf(digest, kind)}.pin`);
  }

  /** The lock file withLayerLock takes. */
  layerLockPath(chainId: string): string {
    return join(this.root, 'locks', `${hexOf(chainId, 'layer')}.lock`);
  }

  /** Whether the layer is stored (its folder exists only complete); pins it until a record names it. */
  async hasLayer(chainId: string): Promise<boolean> {
    await pin(this.pinPath('layer', chainId));
    return exists(this.layerDir(chainId));
  }

  /** Runs `fn` holding the layer's lock (across processes: flock), waiting for another holder. */
  async withLayerLock<T>(chainId: string, fn: () => Promise<T>): Promise<T> {
    await pin(this.pinPath('layer', chainId));
    const lock = await acquireFileLock(this.layerLockPath(chainId), join(this.root, 'locks'), `layer ${chainId}`, { command: 'stack pull' });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /**
   * The lock of a build (src/build: its scratch folder `layers/<id>.partial-build` and its RUN
   * steps' cgroup `build-<id>` are held under it while it runs), taken without waiting:
   * undefined when a running build holds it.
   */
  async tryBuildLock(id: string): Promise<{ release(): Promise<void> } | undefined> {
    try {
      return await acquireFileLock(this.layerLockPath(`sha256:${id}`), join(this.root, 'locks'), `build ${id}`, { command: 'stack build', wait: false });
    } catch (e) {
      if (e instanceof UserError && e.code === 'LOCKED') return undefined;
      throw e;
    }
  }

  /** Writes an image's record atomically (0600); the record now keeps its layers and blobs, unpinned. */
  async putRecord(record: ImageRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(record.name), record);
    for (const chainId of record.layers) unpin(this.pinPath('layer', chainId));
    for (const digest of new Set([record.digest, record.manifestDigest, record.configDigest])) unpin(this.pinPath('blob', digest));
  }

  /** The record of an image name, or undefined when it was never pulled. */
  async getRecord(name: string): Promise<ImageRecord | undefined> {
    return (await readJson(this.recordPath(name))) as ImageRecord | undefined;
  }

  /** Every record in the store (files that are not records are skipped). */
  async listRecords(): Promise<ImageRecord[]> {
    const dir = join(this.root, 'images');
    const out: ImageRecord[] = [];
    for (const file of await listDir(dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const value = (await readJson(join(dir, file))) as ImageRecord | undefined;
        if (value && typeof value.name === 'string' && Array.isArray(value.layers)) out.push(value);
      } catch {
        // a record being replaced, or not one of ours
      }
    }
    return out;
  }

  /**
   * Removes what interrupted pulls left: `layers/*.partial-*` whose layer nobody is unpacking now
   * (its lock is free), and blob temp files. Returns the paths removed.
   */
  async cleanPartials(): Promise<string[]> {
    const removed: string[] = [];
    const layers = join(this.root, 'layers');
    for (const name of await listDir(layers)) {
      const m = PARTIAL.exec(name);
      if (!m) continue;
      const dir = join(this.root, 'locks');
      let lock;
      try {
        lock = await acquireFileLock(join(dir, `${m[1]!}.lock`), dir, `layer sha256:${m[1]!}`, { command: 'stack image prune', wait: false });
      } catch (e) {
        if (e instanceof UserError && e.code === 'LOCKED') continue; // a live pull's
        throw e;
      }
      try {
        await rm(join(layers, name), { recursive: true, force: true });
        removed.push(join(layers, name));
      } finally {
        await lock.release();
      }
    }
    const blobs = join(this.root, 'blobs', 'sha256');
    for (const name of await listDir(blobs)) {
      // A blob temp is written and renamed in one go: one older than a minute is a crash's.
      if (!name.includes('.partial-')) continue;
      const path = join(blobs, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 60_000) {
        await rm(path, { force: true });
        removed.push(path);
      }
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

// Removing images from the store (`stack rmi`, `stack image prune`): records first, then the
// layers and blobs no remaining record names and no project's snapshot uses. Safe against a
// concurrent pull: each layer is removed holding its lock (the one a pull unpacks under) and its
// pin exclusively (pins.ts: a pull pins what it will name until its record is written), and the
// records and snapshots are read again after both are taken. A layer folder is renamed to
// `<hex>.removing-*` (a name no reader uses) before rm -rf, so a crash never leaves a half-removed
// folder that looks like a complete layer; prune removes such leftovers.
import { randomBytes } from 'node:crypto';
import { lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { listDir, readJson } from '../state/atomic.js';
import { acquireFileLock } from '../state/lock.js';
import type { StateRoots } from '../state/paths.js';
import { diskUsage } from './disk-usage.js';
import { claimUnpinned } from './pins.js';
import { parseImageReference } from './reference.js';
import type { ImageRecord, ImageStore } from './store.js';
import { describeUsers, imagesInUse, usersOf, type ImageUser } from './usage.js';

/** What a removal did, in docker's words. */
export interface RemovalReport {
  /** Names untagged (records removed): `postgres:16`, `postgres@sha256:…`. */
  readonly untagged: string[];
  /** Digests deleted: image IDs (config blobs), then layer ChainIDs, top layer first. */
  readonly deleted: string[];
  /** Layers kept because a project's service runs on them (only with force). */
  readonly keptInUse: { readonly layer: string; readonly users: readonly ImageUser[] }[];
  /** Layers and blobs kept because a pull running now uses them. */
  readonly keptBusy: string[];
  /** Bytes freed (du of the layer folders and blob files). */
  reclaimed: number;
}

function emptyReport(): RemovalReport {
  return { untagged: [], deleted: [], keptInUse: [], keptBusy: [], reclaimed: 0 };
}

const HEX64 = /^[a-f0-9]{64}$/;
const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{4,64})$/;
const REMOVING = /\.removing-[a-z0-9]+$/;

/** `postgres:16` for `docker.io/library/postgres:16` (the name as `stack images` shows it). */
export function shortName(name: string): string {
  try {
    return parseImageReference(name).familiar;
  } catch {
    return name;
  }
}

/**
 * The records `image` names, as `docker rmi` finds them: a reference (`postgres:16` is
 * docker.io/library/postgres:16), else an image ID or a unique prefix of at least 4 hex digits.
 */
export function findImage(records: readonly ImageRecord[], image: string, force: boolean): ImageRecord[] {
  let ref;
  try {
    ref = parseImageReference(image);
  } catch {
    ref = undefined;
  }
  if (ref) {
    const byName = records.filter((r) => r.name === ref.canonical);
    if (byName.length) return byName;
    if (ref.digest) {
      // `name@sha256:…` also finds the record of a tag that resolved to that digest
      const byDigest = records.filter((r) => r.digest === ref.digest && shortNameOf(r) === ref.familiarName);
      if (byDigest.length) return byDigest;
    }
  }
  const m = ID_PREFIX.exec(image);
  if (m) {
    const matches = records.filter((r) => r.configDigest.startsWith(`sha256:${m[1]!}`));
    const ids = [...new Set(matches.map((r) => r.configDigest))];
    if (ids.length > 1) {
      throw new UserError('IMAGE_ID_AMBIGUOUS', `image ID prefix ${image} matches ${ids.length} images: ${ids.map((i) => i.slice(7, 19)).join(', ')}`, 'give more digits of the image ID (see `stack images`)');
    }
    if (matches.length > 1 && !force) {
      throw new UserError(
        'IMAGE_ID_SHARED',
        `image ${image} is referenced by ${matches.length} names (${matches.map((r) => shortName(r.name)).join(', ')}): remove it by name, or force`,
        `\`stack rmi NAME\` untags one name; \`stack rmi -f ${image}\` removes them all`,
      );
    }
    if (matches.length) return matches;
  }
  throw new UserError('IMAGE_NOT_FOUND', `no such image: ${image}`, 'see `stack images` for the images in the store');
}

function shortNameOf(r: ImageRecord): string | undefined {
  try {
    return parseImageReference(r.name).familiarName;
  } catch {
    return undefined;
  }
}

/** Removes what `image` names (see findImage); refuses an image a project uses unless `force`. */
export async function removeImage(store: ImageStore, roots: StateRoots, image: string, opts: { force: boolean }): Promise<RemovalReport> {
  const records = findImage(await store.listRecords(), image, opts.force);
  const usage = await imagesInUse(roots);
  const users = records.flatMap((r) => usersOf(usage, r));
  if (users.length && !opts.force) {
    const projects = [...new Set(users.map((u) => u.project))];
    throw new UserError(
      'IMAGE_IN_USE',
      `image ${image} is used by ${describeUsers(users)}`,
      `run \`stack down\` in project ${projects.join(', ')} first, or \`stack rmi -f ${image}\` to remove the image record (the layers a project runs on are kept)`,
    );
  }
  const report = emptyReport();
  for (const record of records) {
    await rm(store.recordPath(record.name), { force: true });
    report.untagged.push(shortName(record.name));
    const familiar = shortNameOf(record);
    if (familiar) report.untagged.push(`${familiar}@${record.digest}`);
  }
  await collect(store, roots, {
    layers: [...new Set(records.flatMap((r) => [...r.layers].reverse()))],
    blobs: [...new Set(records.flatMap((r) => [r.configDigest, r.manifestDigest, r.digest]))],
    configs: new Set(records.map((r) => r.configDigest)),
  }, report);
  return report;
}

/**
 * `stack image prune`: what no record names (layers, blobs, leftovers of crashed pulls and
 * removals); with `all`, first every record no project uses.
 */
export async function pruneImages(store: ImageStore, roots: StateRoots, opts: { all: boolean }): Promise<RemovalReport> {
  const report = emptyReport();
  if (opts.all) {
    const usage = await imagesInUse(roots);
    for (const record of await store.listRecords()) {
      if (usersOf(usage, record).length) continue;
      await rm(store.recordPath(record.name), { force: true });
      report.untagged.push(shortName(record.name));
      const familiar = shortNameOf(record);
      if (familiar) report.untagged.push(`${familiar}@${record.digest}`);
    }
  }
  await store.cleanPartials(); // what crashed pulls left (their size is not counted)
  const layersDir = join(store.root, 'layers');
  for (const name of await listDir(layersDir)) {
    if (!REMOVING.test(name)) continue;
    report.reclaimed += await diskUsage(join(layersDir, name));
    await rm(join(layersDir, name), { recursive: true, force: true }).catch(() => undefined); // another prune's, maybe
  }
  const layers = (await listDir(layersDir)).filter((n) => HEX64.test(n)).map((n) => `sha256:${n}`);
  const blobs = (await listDir(join(store.root, 'blobs', 'sha256'))).filter((n) => HEX64.test(n)).map((n) => `sha256:${n}`);
  await collect(store, roots, { layers, blobs, configs: 'peek' }, report);
  await pruneBuildCache(store, opts.all, report);
  return report;
}

/**
 * The build cache's entries (src/build: `build-cache/<key>.json`) whose layer is gone, which no
 * build can use any more; with `all`, the cache mounts' folders too (`RUN --mount=type=cache`:
 * package managers' downloads), except one a build holds now (sharing=locked).
 */
async function pruneBuildCache(store: ImageStore, all: boolean, report: RemovalReport): Promise<void> {
  const cacheDir = join(store.root, 'build-cache');
  for (const name of await listDir(cacheDir)) {
    if (!name.endsWith('.json')) continue;
    const entry = (await readJson(join(cacheDir, name)).catch(() => undefined)) as { diffId?: string; chain?: string } | undefined;
    const keep = entry !== undefined && (entry.diffId === undefined || (entry.chain !== undefined && HEX64.test(entry.chain.slice(7)) && (await lstat(store.layerDir(entry.chain)).then(() => true, () => false))));
    if (!keep) await rm(join(cacheDir, name), { force: true });
  }
  if (!all) return;
  const mounts = join(store.root, 'build-cache-mounts');
  for (const name of await listDir(mounts)) {
    if (!HEX64.test(name)) continue;
    let lock;
    try {
      lock = await acquireFileLock(join(mounts, `${name}.lock`), mounts, `cache mount ${name}`, { command: 'stack image prune', wait: false });
    } catch (e) {
      if (e instanceof UserError && e.code === 'LOCKED') continue; // a build uses it now
      throw e;
    }
    try {
      report.reclaimed += await diskUsage(join(mounts, name));
      await rm(join(mounts, name), { recursive: true, force: true });
    } finally {
      await lock.release();
    }
  }
}

/** What collect may remove; `configs` says which blobs are image configs (or 'peek': read them to know). */
interface Candidates {
  readonly layers: readonly string[];
  readonly blobs: readonly string[];
  readonly configs: ReadonlySet<string> | 'peek';
}

/** Whether a blob's bytes are an image config (it has rootfs), for the `Deleted:` lines. */
function looksLikeConfig(bytes: Buffer | undefined): boolean {
  if (!bytes || bytes.length > 4 << 20) return false;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as { rootfs?: unknown };
    return typeof value.rootfs === 'object' && value.rootfs !== null;
  } catch {
    return false;
  }
}

/** Removes each candidate no record names and no project uses, re-read under its lock and pin. */
async function collect(store: ImageStore, roots: StateRoots, candidates: Candidates, report: RemovalReport): Promise<void> {
  const named = async () => {
    const records = await store.listRecords();
    return {
      layers: new Set(records.flatMap((r) => r.layers)),
      blobs: new Set(records.flatMap((r) => [r.digest, r.manifestDigest, r.configDigest])),
    };
  };
  // Blobs first: the config blob is the image; its deletion is what `Deleted: <image ID>` reports.
  for (const digest of candidates.blobs) {
    const path = store.blobPath(digest);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    const claim = claimUnpinned(store.pinPath('blob', digest));
    if (!claim) {
      report.keptBusy.push(digest);
      continue;
    }
    try {
      if ((await named()).blobs.has(digest)) continue;
      const usage = await imagesInUse(roots);
      if (usage.ids.has(digest)) continue; // the config of an image a project runs
      const config = candidates.configs === 'peek' ? looksLikeConfig(await store.readBlob(digest).catch(() => undefined)) : candidates.configs.has(digest);
      await rm(path, { force: true });
      report.reclaimed += info.blocks * 512;
      if (config) report.deleted.push(digest);
    } finally {
      await claim.release();
    }
  }
  const locks = join(store.root, 'locks');
  for (const chainId of candidates.layers) {
    const dir = store.layerDir(chainId);
    if (!(await lstat(dir).catch(() => undefined))) continue;
    let lock;
    try {
      lock = await acquireFileLock(store.layerLockPath(chainId), locks, `layer ${chainId}`, { command: 'stack image prune', wait: false });
    } catch (e) {
      if (e instanceof UserError && e.code === 'LOCKED') {
        report.keptBusy.push(chainId);
        continue;
      }
      throw e;
    }
    let removing: string | undefined;
    try {
      const claim = claimUnpinned(store.pinPath('layer', chainId));
      if (!claim) {
        report.keptBusy.push(chainId);
        continue;
      }
      try {
        if ((await named()).layers.has(chainId)) continue;
        const users = (await imagesInUse(roots)).layers.get(chainId);
        if (users?.length) {
          report.keptInUse.push({ layer: chainId, users });
          continue;
        }
        const size = await diskUsage(dir);
        removing = `${dir}.removing-${randomBytes(6).toString('hex')}`;
        await rename(dir, removing);
        report.reclaimed += size;
        report.deleted.push(chainId);
      } finally {
        await claim.release();
      }
    } finally {
      await lock.release();
    }
    if (removing) await rm(removing, { recursive: true, force: true });
  }
}

// A consistency check of the image store: every record's blobs (index or manifest, platform
// manifest, config) are there and hash to their digests, its layers are the config's ChainIDs and
// each layer folder exists as a folder. Used by tests (the kill -9 proof) and for diagnosis.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { chainIds, type ImageRecord, type ImageStore } from './store.js';

/** One thing wrong in the store, naming the image and what is wrong. */
export interface StoreProblem {
  readonly image: string;
  readonly problem: string;
}

async function sha256File(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return `sha256:${hash.digest('hex')}`;
}

async function verifyRecord(store: ImageStore, record: ImageRecord): Promise<string[]> {
  const problems: string[] = [];
  for (const [what, digest] of [['manifest', record.digest], ['platform manifest', record.manifestDigest], ['config', record.configDigest]] as const) {
    const got = await sha256File(store.blobPath(digest));
    if (got === undefined) problems.push(`${what} blob ${digest} is missing`);
    else if (got !== digest) problems.push(`${what} blob ${digest} has digest ${got}`);
  }
  const config = await store.readBlob(record.configDigest).catch(() => undefined);
  if (config) {
    try {
      const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
      const expected = chainIds(diffIds);
      if (expected.join(' ') !== record.layers.join(' ')) problems.push(`layers ${record.layers.join(', ')} are not the config's ChainIDs ${expected.join(', ')}`);
    } catch {
      problems.push(`config blob ${record.configDigest} is not JSON`);
    }
  }
  for (const layer of record.layers) {
    const info = await lstat(store.layerDir(layer)).catch(() => undefined);
    if (!info) problems.push(`layer ${layer} is missing`);
    else if (!info.isDirectory()) problems.push(`layer ${layer} is not a folder`);
  }
  return problems;
}

/** Every problem of every record in the store (none: the store is consistent). */
export async function verifyStore(store: ImageStore): Promise<StoreProblem[]> {
  const out: StoreProblem[] = [];
  for (const record of await store.listRecords()) {
    for (const problem of await verifyRecord(store, record)) out.push({ image: record.name, problem });
  }
  return out;
}

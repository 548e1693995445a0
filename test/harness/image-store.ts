// Images put straight into a real ImageStore for tests of removal: each layer a real tar (makeTar)
// unpacked by unpackLayer into layers/<chainid>, the config and manifest stored as blobs, the
// record written last, as pullImage leaves them; and project snapshots naming images, written by
// writeSnapshot as `up` writes them.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { hostPlatform } from '../../src/image/platform.js';
import { chainIds, type ImageRecord, type ImageStore } from '../../src/image/store.js';
import { unpackLayer } from '../../src/image/unpack.js';
import type { IpamRecord } from '../../src/network/ipam.js';
import type { Project } from '../../src/spec/project.js';
import type { StateRoots } from '../../src/state/paths.js';
import { writeSnapshot } from '../../src/state/snapshot.js';
import { makeTar } from './tar.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A layer tar of `files` (path → content). */
export function layerTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  return makeTar(Object.entries(files).map(([name, body]) => ({ header: { name, mode: 0o644 }, body })));
}

/** Stores an image `name` (canonical) of `layers` (tars, bottom first) and returns its record. */
export async function putImage(store: ImageStore, name: string, layers: Buffer[]): Promise<ImageRecord> {
  await store.init();
  const diffIds = layers.map((l) => sha(l));
  const chains = chainIds(diffIds);
  for (const [i, tar] of layers.entries()) {
    if (await store.hasLayer(chains[i]!)) continue;
    await unpackLayer(Readable.from([tar]), { dir: store.layerDir(chains[i]!), mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffIds[i]!, diffId: diffIds[i]! });
  }
  const { os, architecture } = hostPlatform();
  const config = Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
  }));
  await store.putBlob(sha(config), config);
  await store.putBlob(sha(manifest), manifest);
  const record: ImageRecord = {
    name,
    digest: sha(manifest),
    manifestDigest: sha(manifest),
    configDigest: sha(config),
    platform: `${os}/${architecture}`,
    layers: chains,
    pulledAt: new Date().toISOString(),
  };
  await store.putRecord(record);
  return record;
}

/** Writes the snapshot of project `name` whose services run the given images (service → record). */
export async function putProjectUsing(roots: StateRoots, name: string, services: Record<string, ImageRecord>): Promise<void> {
  const project = {
    name,
    services: Object.fromEntries(Object.entries(services).map(([service, r]) => [service, {
      name: service,
      image: r.name,
      imageRoot: { id: r.configDigest, reference: r.name, digest: r.digest, layers: r.layers, identity: { uid: 0, gid: 0, groups: [] }, exposedPorts: [] },
    }])),
  } as unknown as Project;
  const ipam: IpamRecord = { version: 1, networks: {} };
  await writeSnapshot(roots, project, ipam);
}

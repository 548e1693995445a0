// Image layers for tests, in the real on-disk format: each layer's entries made into a tar by
// makeTar and unpacked by the real unpackLayer (so whiteouts are 0:0 character devices and
// opaque folders carry trusted.overlay.opaque), one folder per layer. Needs root.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackLayer } from '../../src/image/unpack.js';
import { makeTar, type TarEntry } from './tar.js';

/** Unpacks `layers` (lowest first) into `<work>/<name>/0`, `/1`…; returns their folders, lowest first. */
export async function unpackLayers(work: string, name: string, layers: TarEntry[][]): Promise<string[]> {
  const parent = join(work, name);
  mkdirSync(parent, { mode: 0o755 });
  const dirs: string[] = [];
  for (const [i, entries] of layers.entries()) {
    const t = await makeTar(entries);
    const digest = `sha256:${createHash('sha256').update(t).digest('hex')}`;
    const dir = join(parent, String(i));
    await unpackLayer(Readable.from([t]), { dir, mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, diffId: digest });
    dirs.push(dir);
  }
  return dirs;
}

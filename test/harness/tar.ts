// Layer tarballs for tests, built with tar-stream's pack: each entry's header over a fixed mtime
// (and the caller's defaults), so the same entries always make the same bytes.
import * as tar from 'tar-stream';

/** One tar entry: its header (a name at least) and its body. */
export type TarEntry = { header: tar.Header | (Partial<tar.Header> & { name: string }); body?: Buffer | string };

/** The tar of `entries` in order; `defaults` fill header fields an entry leaves out. */
export async function makeTar(entries: TarEntry[], defaults: Partial<tar.Header> = {}): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ mtime: new Date(1_600_000_000_000), ...defaults, ...e.header } as tar.Header, e.body ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

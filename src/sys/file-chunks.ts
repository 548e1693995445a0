// Reading a file handle chunk by chunk, for the copies that write through a handle of their own
// (image copy-up, a build's COPY) and the digests that read one (a COPY's cache key).
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

/** The handle's bytes from its position on, one reused 1 MiB buffer's worth at a time (each chunk is valid until the next). */
export async function* chunksOf(input: FileHandle): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const { bytesRead } = await input.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

/** Writes what is left of `input` to `out` (every byte, however the writes split); the bytes copied. */
export async function copyChunks(input: FileHandle, out: FileHandle): Promise<number> {
  let total = 0;
  for await (const chunk of chunksOf(input)) {
    let off = 0;
    while (off < chunk.length) off += (await out.write(chunk, off, chunk.length - off)).bytesWritten;
    total += chunk.length;
  }
  return total;
}

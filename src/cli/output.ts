// The CLI's stdout and stderr, written with write(2) on the descriptor until something needs
// Node's stream itself. Creating process.stdout costs its first user 5-10 ms (a pipe is a
// net.Socket, a file or /dev/null a SyncWriteStream: the stream modules load for it), which
// `node -e 0`, the floor of issue 11's targets, never pays. One-line scripts, 40 alternating
// rounds: a line written through process.stdout took 9.7 ms more than no write to /dev/null and
// 5.0 ms more than fs.writeSync into a pipe; fs.writeSync took 1.2 ms more than no write.
//
// Order is kept: a write is complete when write() returns (Node's own stdout is synchronous
// for files, pipes and terminals on Linux, so the two never overtook each other either), and
// once the stream is made, everything goes through it. The stream is made when a caller reads
// anything but write (isTTY, columns, on, pipe: Node's answers, not guesses), when a chunk is
// neither a string nor bytes, and when write(2) fails: EAGAIN (a descriptor someone made
// non-blocking, whose pipe is full) and EPIPE (a reader gone) are then the stream's to handle,
// exactly as before, with the rest of the chunk.
import { writeSync } from 'node:fs';

type Callback = (error?: Error | null) => void;

/** `fd` as a NodeJS.WriteStream whose writes are write(2) calls until `stream()` is needed. */
export function directOutput(fd: number, stream: () => NodeJS.WriteStream): NodeJS.WriteStream {
  let made: NodeJS.WriteStream | undefined;
  const real = (): NodeJS.WriteStream => (made ??= stream());
  const write = (chunk: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    const charset = typeof encoding === 'string' ? encoding : 'utf8';
    if (made !== undefined || !(typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      return typeof encoding === 'function' ? real().write(chunk as string, encoding) : real().write(chunk as string, charset, callback);
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, charset) : chunk;
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(fd, bytes, written);
    } catch {
      return real().write(bytes.subarray(written), done);
    }
    if (done) process.nextTick(done);
    return true;
  };
  return new Proxy({} as NodeJS.WriteStream, {
    get(_target, key) {
      if (key === 'write') return write;
      const target = real();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_target, key, value) {
      return Reflect.set(real(), key, value);
    },
    has(_target, key) {
      return key in real();
    },
  });
}

// The CLI's stdout and stderr, written with write(2) on the descriptor until something needs
// Node's stream itself, when the descriptor is a file or a terminal (or, for the commands that
// call writePipesDirectly, a pipe or a socket: both of their outputs). Creating process.stdout
// costs its first user 5-10 ms (a file or /dev/null is a SyncWriteStream, a terminal a
// tty.WriteStream: the stream modules load for them), which `node -e 0`, the floor of issue 11's
// targets, never pays. One-line scripts, 40 alternating rounds: a line written through
// process.stdout took 9.7 ms more than no write to /dev/null; fs.writeSync took 1.2 ms more.
//
// Node writes to files and terminals synchronously on Linux, so a direct write behaves as its
// stream's would: complete when write() returns, in order with anything written through the
// stream. A pipe or a socket goes to the stream from the first write: Node makes it non-blocking
// and queues what a full pipe does not take, so the command goes on while a slow reader catches
// up (a blocking write(2) would stop it, lock held, until the reader reads).
// A command that holds no lock and streams nothing (ps, ls, port, images, config, version: main.ts
// marks them `answers`) writes a pipe or a socket directly too, stdout and stderr
// (writePipesDirectly), as any Unix tool does: `stack ps | grep`, or a program reading its output
// (Node's child_process hands it a socket), made the stream for one table (`ps` of 20 read by a
// program, 30 alternating rounds: 75.0 -> 71.3 ms). A full blocking pipe then holds the command
// until the reader reads, which is all it waits for; a full non-blocking one (EAGAIN) and a
// reader gone (EPIPE) go to the stream, which queues the rest or ends the command (status 141).
// `isTTY` of a descriptor that is no character device (a file, a pipe, a socket) is answered
// without the stream, as Node's would be (undefined: no terminal is anything but a character
// device): the renderer asks it before a plain `up` or `down` to a file writes a line, and made
// the stream for it (1.2-1.3 ms of an `up -d 2>file`, traced). The stream is also made when a
// caller reads anything else but write (isTTY of a character device, columns, on, pipe: Node's
// answers, not guesses), when a chunk is neither a string nor bytes, and when write(2)
// fails (a descriptor someone made non-blocking, ENOSPC): the rest of the chunk is then the
// stream's to write or to report, as every write was before. From then on, every write goes
// through the stream.
import { fstatSync, writeSync } from 'node:fs';

type Callback = (error?: Error | null) => void;

/** Set by a command that holds no lock and streams nothing: pipes and sockets are written directly too, for the rest of the process. */
let pipesDirectly = false;

/** Writes what the command prints to a pipe with write(2) too (see above); called before its first write. */
export function writePipesDirectly(): void {
  pipesDirectly = true;
}

/**
 * Whether `fd` is written with write(2): a file, a terminal, /dev/null (which Node's own stream
 * writes synchronously), and a pipe or a socket when `pipes`.
 */
function direct(fd: number, pipes: boolean): boolean {
  try {
    const s = fstatSync(fd);
    return pipes || !(s.isFIFO() || s.isSocket());
  } catch {
    return false; // closed or unknown: the stream says what is wrong with it
  }
}

/**
 * `fd` as a NodeJS.WriteStream whose writes are write(2) calls until `stream()` is needed;
 * `pipes` says at the first write whether a pipe is written so too (default: writePipesDirectly
 * was called).
 */
export function directOutput(fd: number, stream: () => NodeJS.WriteStream, pipes: () => boolean = () => pipesDirectly): NodeJS.WriteStream {
  let made: NodeJS.WriteStream | undefined;
  let directly: boolean | undefined;
  const real = (): NodeJS.WriteStream => (made ??= stream());
  const write = (chunk: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    const charset = typeof encoding === 'string' ? encoding : 'utf8';
    directly ??= direct(fd, pipes());
    if (made !== undefined || !directly || !(typeof chunk === 'string' || chunk instanceof Uint8Array)) return real().write(chunk as string, charset, done);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, charset) : chunk;
    let written = 0;
    try {
      while (written < bytes.length) {
        const n = writeSync(fd, bytes, written);
        if (n <= 0) break;
        written += n;
      }
    } catch {
      // the stream writes the rest, or reports why it cannot
    }
    if (written < bytes.length) return real().write(bytes.subarray(written), done);
    if (done) process.nextTick(done);
    return true;
  };
  /** Whether `fd` is a character device (a terminal is one; so is /dev/null); true when fstat fails, so that the stream answers. */
  const characterDevice = (): boolean => {
    try {
      return fstatSync(fd).isCharacterDevice();
    } catch {
      return true;
    }
  };
  return new Proxy({} as NodeJS.WriteStream, {
    get(_target, key) {
      if (key === 'write') return write;
      if (key === 'isTTY' && made === undefined && !characterDevice()) return undefined;
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

// Reading and writing non-blocking descriptors (a child's stdio of spawnPiped) as they turn
// ready, told by a ReadyWatcher (ready-watch.ts), without a stream: the bytes go straight
// between the descriptor and a Buffer, on this thread, when the poll says they can.
import { close, POLLIN, POLLOUT, readSome, writeSome } from './libc.js';
import type { ReadyWatcher } from './ready-watch.js';
import type { PipedChild } from './spawn.js';

/** What one read takes at most. */
const CHUNK = 64 * 1024;

/**
 * Writes all of `data` to the non-blocking `fd`, waiting for room with `watcher` when the
 * reader has not taken what came before. Resolves once all is written; rejects with the
 * write's KernelError (EPIPE: the reader is gone, its end closed), or when the watcher gave up.
 */
export function writeAll(fd: number, data: Buffer, watcher: ReadyWatcher, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let at = 0;
    const more = (): void => {
      try {
        while (at < data.length) {
          const n = writeSome(fd, data.subarray(at), () => `write(${what})`);
          if (n === undefined) {
            if (!watcher.working()) throw new Error(`write(${what}): the descriptors' watcher gave up`);
            watcher.watch(fd, POLLOUT, more);
            return;
          }
          at += n;
        }
      } catch (e) {
        reject(e as Error);
        return;
      }
      resolve();
    };
    more();
  });
}

/** A descriptor read to its end as it turns ready (readToEnd). */
export interface Reading {
  /**
   * Resolves once the end of the stream was read, or a read failed (what was read before
   * stays), or the reading was stopped; rejects when the watcher gave up before the end (what
   * the peer still writes would not be read).
   */
  readonly ended: Promise<void>;
  /** What was read so far, and what is there now (read without waiting), as UTF-8 text. */
  text(): string;
  /** Stops reading: `closeFd` runs once no poll holds the descriptor (the first call's; later calls do nothing). Resolves once it ran. */
  stop(closeFd: () => void): Promise<void>;
}

/**
 * Reads the non-blocking `fd` until the end of its stream, each time `watcher` says it is
 * readable. A watcher that gave up fails the reading (`ended` rejects).
 */
export function readToEnd(fd: number, watcher: ReadyWatcher, what: string): Reading {
  const chunks: Buffer[] = [];
  let buf: Buffer | undefined;
  let done = false;
  let stopped = false;
  let stopWatch: ((closeFd?: () => void) => Promise<void>) | undefined;
  let finish: (failure?: Error) => void = () => undefined;
  const ended = new Promise<void>((resolve, reject) => (finish = (failure) => (failure === undefined ? resolve() : reject(failure))));
  ended.catch(() => undefined); // the caller may not wait for it (a reading it stops)
  /** Reads what is there; whether the reading is over (the stream ended or failed, the watcher gave up). */
  const drain = (): boolean => {
    if (done) return true;
    let failure: Error | undefined;
    try {
      for (;;) {
        buf ??= Buffer.allocUnsafe(CHUNK);
        const n = readSome(fd, buf, () => `read(${what})`);
        if (n === undefined) {
          if (watcher.working()) return false;
          failure = new Error(`read(${what}): the descriptors' watcher gave up before the end`);
          break;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } catch {
      // ECONNRESET and the like: the stream is over, with what came before it
    }
    done = true;
    finish(failure);
    return true;
  };
  const more = (): void => {
    stopWatch = undefined;
    if (!drain()) stopWatch = watcher.watch(fd, POLLIN, more);
  };
  more();
  return {
    ended,
    text: () => {
      drain();
      return Buffer.concat(chunks).toString('utf8');
    },
    stop(closeFd) {
      if (stopped) return Promise.resolve();
      stopped = true;
      done = true;
      finish();
      const stop = stopWatch;
      stopWatch = undefined;
      return stop !== undefined ? stop(closeFd) : watcher.whenFree(closeFd, fd);
    },
  };
}

/**
 * Feeds `child` `input` on its stdin (then the end of it), reads its stdout and stderr until
 * `until` resolves (given their readings), and closes its three descriptors before it returns
 * what they said. A child that exits without reading its stdin (EPIPE) is no error here: what
 * it said, or its exit status, tells why.
 */
export async function communicate(
  child: PipedChild,
  input: Buffer,
  watcher: ReadyWatcher,
  until: (stdout: Reading, stderr: Reading) => Promise<unknown>,
): Promise<{ stdout: string; stderr: string }> {
  const what = `pid ${child.pid}`;
  const stdout = readToEnd(child.stdout, watcher, `stdout of ${what}`);
  const stderr = readToEnd(child.stderr, watcher, `stderr of ${what}`);
  await writeAll(child.stdin, input, watcher, `stdin of ${what}`).catch(() => undefined);
  const stdinClosed = watcher.whenFree(() => close(child.stdin), child.stdin); // the end of the input: at once unless a poll holds it
  try {
    await until(stdout, stderr);
    return { stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    // Closed before it returns (or fails), not when their ends are read: a child leaves no descriptor behind.
    await Promise.all([stdinClosed, stdout.stop(() => close(child.stdout)), stderr.stop(() => close(child.stderr))]);
  }
}

// A service's stop mark (service-files.ts `stopped`): `{pid, startTime}` of a process stack stops
// on purpose, written before its signal, so that no restart policy applies to its exit
// (supervisor/restarter.ts reads it once the process is gone).
//
// Written in place, into an empty file the service's start leaves in its runtime folder
// (prepareStopMark): a `down` of 20 wrote 20 marks on the CLI's thread, each a new file renamed
// into place, and making a file is the dear part where the run folder is on an ext4 without a
// journal, whose inode allocator passes over every inode freed in the last seconds (the `down`
// before, a test's): `open(O_CREAT)` of the marks was 12.7 of the 46.7 ms that a CPU profile of a
// `down` of 20 gave the stops (--cpu-prof-interval 50), 0.6 ms a mark. Writing into a file there
// is one open, one write and one close.
//
// Why a write in place keeps what the rename kept. Every mark is MARK_BYTES long (the JSON padded
// with spaces, which JSON allows after the value), so it covers the one before whole: a mark is
// never a mix of two, and a crash leaves the old mark or the new one. A file shorter than that
// (empty: prepared; an older version's mark) is read as JSON that does not parse, or as the whole
// mark: no reader takes half of one for a mark. The readers need the mark only once the process
// it names has exited, which comes after the signal, which comes after the write: no reader waits
// on the write. A file that is not there (a service started by an older version; the runtime
// folder made by something else than a start) is written as before: a new file renamed into place.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { open, close } from '../sys/fs-async.js';
import { writeRuntimeJsonSync } from './atomic.js';
import { RECORD_FILE_MODE } from './paths.js';

/** The length of every mark written in place; a mark's JSON is about 40 bytes. */
export const MARK_BYTES = 96;

/** The process a mark names. */
export interface MarkedProcess {
  readonly pid: number;
  readonly startTime: number;
}

/** The text of a mark written in place: the JSON, spaces, a newline; MARK_BYTES long. */
export function markText(process: MarkedProcess): string {
  const json = JSON.stringify({ pid: process.pid, startTime: process.startTime });
  return `${json.padEnd(MARK_BYTES - 1)}\n`;
}

/**
 * Writes the mark naming `process` at `path` (synchronously: it goes before a signal). In place
 * when the file is there and a regular file; else as a new file renamed into place, its folder
 * made if missing.
 */
export function writeStopMarkSync(path: string, process: MarkedProcess): void {
  let fd: number;
  try {
    // Never through a link, never blocking on a fifo: what is there must be the prepared file
    // (libuv opens close-on-exec).
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    writeRuntimeJsonSync(path, { pid: process.pid, startTime: process.startTime });
    return;
  }
  try {
    // The prepared file is a regular file of one link: anything else (a fifo, a file linked
    // elsewhere too) is replaced by a new file, as before, never written into.
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1) {
      writeRuntimeJsonSync(path, { pid: process.pid, startTime: process.startTime });
      return;
    }
    const text = Buffer.from(markText(process));
    if (writeSync(fd, text, 0, text.length, 0) !== text.length) throw new Error(`${path}: short write of a stop mark`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Leaves the empty file a stop writes its mark into (writeStopMarkSync), unless one is there: a
 * mark already written stays. Through libuv's threads, off the caller's; nothing when the folder
 * is gone.
 */
export async function prepareStopMark(path: string): Promise<void> {
  try {
    await close(await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, RECORD_FILE_MODE));
  } catch {
    // there already, or the folder gone (a removal meanwhile): a stop writes a new file then
  }
}

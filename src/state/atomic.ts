// Files that are either the old version or the new one, never half of each: write a temp file,
// fsync it, rename it over the target, fsync the folder. A crash (kill -9 of `stack up`) leaves
// a whole record or none. Runtime files (under the run root, /run/stack: gone with the boot
// where /run is a tmpfs, and describing processes a power loss ends anyway) skip both fsyncs:
// the rename alone keeps them whole across a crash of stack, as the IPAM record always did, and
// the fsyncs were ~15 ms each (p90 60 ms) on a busy disk, on the critical path of every start;
// where a version is there, the new one is swapped in (renameat2 RENAME_EXCHANGE) rather than
// renamed over it, which ext4 makes a writeback (writeRuntimeJsonSync). Updates of one file are
// serialized within the process. Files are 0600 and the folders made for them 0700 (records
// hold environment values).
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { close, fsync, mkdir, open, readFile, readdir, rename, rm, writeFile } from '../sys/fs-async.js';
import { dirname } from 'node:path';
import { RECORD_FILE_MODE, STATE_DIR_MODE } from './paths.js';
import { exchangePaths } from '../sys/libc.js';

let sequence = 0;
const queues = new Map<string, Promise<unknown>>();

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Runs `fn` after every earlier call for the same key has settled (read-modify-write safety). */
export function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}

/** The exact text writeJsonAtomic writes for `value` (to tell whether a file would change). */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** How writeJsonAtomic writes. */
export interface WriteOptions {
  /** fsync the file and its folder (default true); false for runtime files, which a reboot drops. */
  readonly durable?: boolean;
}

/** Writes `value` as JSON to `path` atomically (and durably unless told otherwise; mode 0600), creating its folder (0700). */
export async function writeJsonAtomic(path: string, value: unknown, options: WriteOptions = {}): Promise<void> {
  // A runtime file is written synchronously: its steps (open, write, close, exchange or rename), each
  // a round trip through libuv's four threads, which twenty starts or stops at once queue up on.
  // 5 alternating rounds of 20 services, twice: `up -d` 862-882 vs 885-903 ms, `down` 408-418
  // vs 425-432.
  if (options.durable === false) {
    writeRuntimeJsonSync(path, value);
    return;
  }
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`;
  const text = jsonText(value);
  for (let attempt = 0; ; attempt++) {
    try {
      // Inside the try: a concurrent prune can remove a parent between mkdir's own steps (ENOENT).
      await mkdir(dirname(path), { recursive: true, mode: STATE_DIR_MODE });
      const fd = await open(tmp, 'w', RECORD_FILE_MODE);
      try {
        await writeFile(fd, text);
        await fsync(fd);
      } finally {
        await close(fd);
      }
      await rename(tmp, path);
      break;
    } catch (e) {
      await rm(tmp, { force: true });
      // The folder was pruned during mkdir or before open (a removal of the last record): again.
      if (errno(e) !== 'ENOENT' || attempt >= 10) throw e;
    }
  }
  await syncDir(dirname(path));
}

/**
 * writeJsonAtomic of a runtime file (not durable), synchronously: for a small file on the
 * critical path, where each step's round trip through libuv's threads costs more than the write.
 * True once written; false only with makeFolder: false and the folder gone.
 */
export function writeRuntimeJsonSync(path: string, value: unknown, options: { makeFolder?: boolean } = {}): boolean {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`;
  const text = jsonText(value);
  for (let attempt = 0; ; attempt++) {
    try {
      // The folder is made when the first try finds it missing (ENOENT), not tried at every write;
      // with makeFolder: false, a missing folder is no write (false): the file's owner is gone.
      if (attempt > 0) {
        if (options.makeFolder === false) return false;
        mkdirSync(dirname(path), { recursive: true, mode: STATE_DIR_MODE });
      }
      writeFileSync(tmp, text, { mode: RECORD_FILE_MODE });
      // Swapped in where a version is there (tmp then holds the old one, unlinked), else renamed:
      // either way a reader sees one whole version. A swapped-out version left by a crash or
      // a failed unlink is a .tmp file, which no reader takes for a record.
      if (!exchangePaths(tmp, path)) renameSync(tmp, path);
      else unlinkQuietly(tmp);
      return true;
    } catch (e) {
      unlinkQuietly(tmp); // not rmSync, which loads Node's rimraf (0.3 ms): a new folder's first write comes here
      if (errno(e) !== 'ENOENT' || attempt >= 10) throw e; // a folder pruned meanwhile: again (writeJsonAtomic)
    }
  }
}

/** Unlinks `path`, whatever stops it (what is left of a temp file is harmless); whether it was unlinked. */
function unlinkQuietly(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * readJson, synchronously: for listing many small records at once (a round trip through libuv's
 * threads per file costs more than the read).
 */
export function readJsonSync(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as unknown;
}

/** The parsed JSON at `path`, or undefined when there is no such file. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as unknown;
}

/** Deletes `path` (absent is success), then each of `prune` that is left empty, in order. */
export async function removeFile(path: string, prune: readonly string[] = []): Promise<void> {
  // Synchronous: two small metadata calls. Through libuv's pool each was a trip queued behind the
  // run's other file work (a down of 20 services: 20 record removals took 4-5 ms that way).
  try {
    unlinkSync(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
  for (const dir of prune) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if (errno(e) === 'ENOTEMPTY' || errno(e) === 'EEXIST' || errno(e) === 'ENOENT') continue;
      throw e;
    }
  }
}

/**
 * Removes folder `dir` and what it holds (absent is success), synchronously: one listing (whose
 * entries say which are folders), an unlink a file, one rmdir. rmSync's walk first tries the
 * rmdir that fails, then lstat's every entry: in a `down` of 20, whose removals of the
 * services' runtime folders go while the kernel deletes the veths, that was ~9 calls a service
 * more on this thread. A link is removed itself, never what it points at (a listing would follow
 * it), and so is a file given as `dir`; sub-folders the same way. When a step fails (an entry
 * gone or made meanwhile, a listing refused), rmSync takes the rest: it finishes, or says why it
 * cannot.
 */
export function removeFolderSync(dir: string): void {
  const at = lstatSync(dir, { throwIfNoEntry: false });
  if (at === undefined || (at.isDirectory() ? emptiedAndRemoved(dir) : unlinkQuietly(dir))) return;
  rmSync(dir, { recursive: true, force: true });
}

/**
 * removeFolderSync's own way, folders within too; false when a step failed. fs.rmSync with
 * `recursive` loads Node's rimraf (~1 ms of a `down`'s last steps, after its links are gone),
 * for trees of a few small runtime files.
 */
function emptiedAndRemoved(dir: string): boolean {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (!entry.isDirectory()) unlinkSync(path); // a symlink too, never followed
      else if (!emptiedAndRemoved(path)) return false;
    }
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** listDir, synchronously (with readJsonSync, for listing records). */
export function listDirNow(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/** Names in `dir` (none when it does not exist). */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw e;
  }
}

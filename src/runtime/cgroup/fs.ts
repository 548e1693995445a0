// The narrow file-system port the cgroup managers use. Everything a manager does to a cgroup
// hierarchy is one of these six calls, so the managers run unchanged over the real cgroupfs
// (nodeCgroupFs) and over a kernel-like in-memory hierarchy in tests (test/doubles/cgroup-fakefs.ts).
// Errors are node-style: an Error with `code` (`ENOENT`, `EBUSY`, ...) and `errno`.
import { constants as fsConstants } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';

/** The file operations a cgroup manager needs; paths are absolute. */
export interface CgroupFs {
  /** Creates one directory (not recursive); fails with EEXIST when it is there. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Removes one directory; on cgroupfs EBUSY while it holds processes or children. */
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  /** One write of `data` into an existing file (cgroupfs files cannot be created). */
  writeFile(path: string, data: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Names of the child directories of a directory (child cgroups; interface files left out). */
  subdirs(path: string): Promise<string[]>;
}

/** The CgroupFs of the real machine, over node:fs. */
export const nodeCgroupFs: CgroupFs = {
  async mkdir(path, mode) {
    await mkdir(path, { mode });
  },
  async rmdir(path) {
    await rmdir(path);
  },
  async readFile(path) {
    return readFile(path, 'utf8');
  },
  async writeFile(path, data) {
    // No O_CREAT: a missing interface file is ENOENT, as on cgroupfs (shells use O_TRUNC too).
    await writeFile(path, data, { flag: fsConstants.O_WRONLY | fsConstants.O_TRUNC });
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return false;
      throw e;
    }
  },
  async subdirs(path) {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  },
};

/** The `code` of a node-style error (`ENOENT`), or undefined for anything else. */
export function errorCode(e: unknown): string | undefined {
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

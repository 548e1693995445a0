// The narrow file-system port the cgroup managers use. Everything a manager does to a cgroup
// hierarchy is one of these eight calls, so the managers run unchanged over the real cgroupfs
// (nodeCgroupFs) and over a kernel-like in-memory hierarchy in tests (test/doubles/cgroup-fakefs.ts).
// Errors are node-style: an Error with `code` (`ENOENT`, `EBUSY`, ...) and `errno`.
import { closeSync, constants as fsConstants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, write, writeSync } from 'node:fs';

/** The file operations a cgroup manager needs; paths are absolute. */
export interface CgroupFs {
  /** Creates one directory (not recursive); fails with EEXIST when it is there. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Removes one directory; on cgroupfs EBUSY while it holds processes or children. */
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  /** One write of `data` into an existing file (cgroupfs files cannot be created). */
  writeFile(path: string, data: string): Promise<void>;
  /**
   * One write(2) of each value, in order, through one open of an existing file: what a file
   * that takes one entry a write wants (v1 devices.allow, a rule each). A failed write throws
   * with `value` set to the value it was given; the ones before it were written.
   */
  writeEach(path: string, values: readonly string[]): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Whether `path` is a directory (a group, not one of the kernel's interface files); false when it is not there. */
  isDirectory(path: string): Promise<boolean>;
  /** Names of the child directories of a directory (child cgroups; interface files left out). */
  subdirs(path: string): Promise<string[]>;
}

/**
 * The CgroupFs of the real machine, over node:fs's synchronous calls. A cgroupfs call is an
 * in-kernel operation of microseconds; through node:fs/promises each one also took a trip
 * through libuv's thread pool and back to the event loop, which under load cost milliseconds
 * apiece: a restart's ~60 cgroup calls (open a group in 6 v1 hierarchies, its limits and
 * device rules, the monitor group in 12) took 10-30 ms of a watch restart, ~4 ms of CPU.
 * Moving a process is the exception (below).
 */
export const nodeCgroupFs: CgroupFs = {
  mkdir: async (path, mode) => {
    mkdirSync(path, { mode });
  },
  rmdir: async (path) => {
    rmdirSync(path);
  },
  readFile: async (path) => readFileSync(path, 'utf8'),
  writeFile: async (path, data) => {
    // No O_CREAT: a missing interface file is ENOENT, as on cgroupfs (shells use O_TRUNC too).
    const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    try {
      // Moving a process (cgroup.procs, tasks) may wait for an RCU grace period (cgroup v1, and
      // v2 without favordynmods: 10-25 ms): that write goes through the thread pool, so that the
      // event loop goes on meanwhile (a launcher placed while a service stops). Only the write:
      // fs/promises' writeFile made the open and the close trips through the pool too, and a
      // launcher's placement is one move per hierarchy (12 on this hybrid host), so the first
      // starts of an `up` queued ~300 pool trips that every other asynchronous file call of the
      // run then waited behind.
      if (path.endsWith('/cgroup.procs') || path.endsWith('/tasks')) {
        await new Promise<void>((resolve, reject) => write(fd, data, (e) => (e ? reject(e) : resolve())));
      } else writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
  writeEach: async (path, values) => {
    const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    try {
      for (const value of values) {
        try {
          writeSync(fd, value);
        } catch (e) {
          throw Object.assign(e as Error, { value });
        }
      }
    } finally {
      closeSync(fd);
    }
  },
  exists: async (path) => statSync(path, { throwIfNoEntry: false }) !== undefined,
  isDirectory: async (path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true,
  subdirs: async (path) =>
    readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
};

/** The `code` of a node-style error (`ENOENT`), or undefined for anything else. */
export function errorCode(e: unknown): string | undefined {
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

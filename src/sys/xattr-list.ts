// llistxattr(2): the names of a path's own extended attributes, which copying an image folder
// into a volume needs and Node's fs lacks. libc.ts (the C library module) has no binding for it,
// so this file loads the same libc for this one call, as runtime/cgroup/bpf.ts does for bpf(2).
import type * as Koffi from 'koffi';
import { KernelError } from '../errors.js';
import { errnoName } from './errno.js';
import { loadKoffi } from './koffi.js';

interface Bound {
  koffi: typeof Koffi;
  llistxattr: (path: string, list: Buffer | null, size: number) => number;
}

let bound: Bound | undefined;

function lib(): Bound {
  if (bound) return bound;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  bound = { koffi, llistxattr: c.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)') as unknown as Bound['llistxattr'] };
  return bound;
}

function call(path: string, list: Buffer | null): number {
  const b = lib();
  const ret = b.llistxattr(path, list, list?.length ?? 0);
  if (ret >= 0) return ret;
  const errno = b.koffi.errno();
  throw new KernelError(`llistxattr ${path}`, errnoName(errno), errno);
}

/** llistxattr(2): the xattr names of `path` itself (a symlink is not followed); [] when the file system has none. */
export function llistxattr(path: string): string[] {
  for (let attempt = 0; attempt < 3; attempt++) {
    const size = call(path, null);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    let n: number;
    try {
      n = call(path, buf);
    } catch (e) {
      if (e instanceof KernelError && e.errno === 'ERANGE') continue; // grew meanwhile
      throw e;
    }
    return buf.subarray(0, n).toString('utf8').split('\0').filter((s) => s !== '');
  }
  throw new KernelError(`llistxattr ${path} (the list kept growing)`, 'ERANGE', 34);
}

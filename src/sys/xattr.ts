// Extended attributes and device nodes, the two calls Node's fs lacks that unpacking an image
// layer needs: lsetxattr (a layer's xattrs, overlayfs's opaque marker) and mknod (the 0:0
// character device overlayfs reads as a whiteout). koffi is loaded on first use, like libc.ts.
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { KernelError } from '../errors.js';
import { errnoName } from './errno.js';

/** S_IFCHR: the file-type bits of a character device, for mknod's mode. */
export const S_IFCHR = 0o020000;

interface Bindings {
  koffi: typeof Koffi;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  mknod: (path: string, mode: number, dev: bigint) => number;
}

let bindings: Bindings | undefined;

function lib(): Bindings {
  if (bindings) return bindings;
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  const c = koffi.load('libc.so.6');
  bindings = {
    koffi,
    lsetxattr: c.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)') as never,
    lgetxattr: c.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)') as never,
    mknod: c.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as never,
  };
  return bindings;
}

function check(ret: number, call: () => string): number {
  if (ret >= 0) return ret;
  const errno = lib().koffi.errno();
  throw new KernelError(call(), errnoName(errno), errno);
}

/** lsetxattr(2): sets `name` on `path` itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(lib().lsetxattr(path, name, value, value.length, 0), () => `lsetxattr ${name} on ${path}`);
}

/** lgetxattr(2): the value of `name` on `path` itself, or undefined when it has none (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const b = lib();
  const size = b.lgetxattr(path, name, null, 0);
  if (size < 0 && b.koffi.errno() === 61) return undefined;
  check(size, () => `lgetxattr ${name} on ${path}`);
  const buf = Buffer.alloc(Math.max(size, 1));
  const n = check(b.lgetxattr(path, name, buf, buf.length), () => `lgetxattr ${name} on ${path}`);
  return buf.subarray(0, n);
}

/** mknod(2) of a character device `major:minor` with permission bits `perm`. */
export function mknodChar(path: string, perm: number, major: number, minor: number): void {
  // glibc's makedev(): the low 8 bits of minor, then major's low 12 bits, then the high bits.
  const dev =
    (BigInt(minor & 0xff)) |
    (BigInt(major & 0xfff) << 8n) |
    (BigInt(minor & ~0xff) << 12n) |
    (BigInt(major & ~0xfff) << 32n);
  check(lib().mknod(path, S_IFCHR | (perm & 0o7777), dev), () => `mknod ${path} c ${major} ${minor}`);
}

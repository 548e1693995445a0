// Extended attributes and device nodes, the two calls Node's fs lacks that unpacking an image
// layer needs: lsetxattr (a layer's xattrs, overlayfs's opaque marker) and mknod (the 0:0
// character device overlayfs reads as a whiteout). The calls themselves are libc.ts's.
import { kernelErrno, lgetxattrInto, mknod } from './libc.js';

export { lsetxattr } from './libc.js';

/** S_IFCHR: the file-type bits of a character device, for mknod's mode. */
export const S_IFCHR = 0o020000;

/** lgetxattr(2): the value of `name` on `path` itself, or undefined when it has none (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  let size: number;
  try {
    size = lgetxattrInto(path, name, null);
  } catch (e) {
    if (kernelErrno(e) === 'ENODATA') return undefined;
    throw e;
  }
  const buf = Buffer.alloc(Math.max(size, 1));
  return buf.subarray(0, lgetxattrInto(path, name, buf));
}

/** mknod(2) of a character device `major:minor` with permission bits `perm`. */
export function mknodChar(path: string, perm: number, major: number, minor: number): void {
  // glibc's makedev(): the low 8 bits of minor, then major's low 12 bits, then the high bits.
  const dev =
    (BigInt(minor & 0xff)) |
    (BigInt(major & 0xfff) << 8n) |
    (BigInt(minor & ~0xff) << 12n) |
    (BigInt(major & ~0xfff) << 32n);
  mknod(path, S_IFCHR | (perm & 0o7777), dev, () => `mknod ${path} c ${major} ${minor}`);
}

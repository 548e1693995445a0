// Netlink headers and attributes are in the host's byte order (unlike addresses and ports on
// the wire): these helpers read and write integers the way the running kernel expects them.
import { endianness } from 'node:os';

const little = endianness() === 'LE';

/** Reads an unsigned 16-bit integer in host byte order. */
export function readU16(buf: Buffer, offset: number): number {
  return little ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
}

/** Reads an unsigned 32-bit integer in host byte order. */
export function readU32(buf: Buffer, offset: number): number {
  return little ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
}

/** Reads a signed 32-bit integer in host byte order (nlmsgerr.error, ifi_index). */
export function readI32(buf: Buffer, offset: number): number {
  return little ? buf.readInt32LE(offset) : buf.readInt32BE(offset);
}

/** Writes an unsigned 16-bit integer in host byte order. */
export function writeU16(buf: Buffer, value: number, offset: number): void {
  if (little) buf.writeUInt16LE(value, offset);
  else buf.writeUInt16BE(value, offset);
}

/** Writes an unsigned 32-bit integer in host byte order. */
export function writeU32(buf: Buffer, value: number, offset: number): void {
  if (little) buf.writeUInt32LE(value >>> 0, offset);
  else buf.writeUInt32BE(value >>> 0, offset);
}

/** Writes a signed 32-bit integer in host byte order. */
export function writeI32(buf: Buffer, value: number, offset: number): void {
  if (little) buf.writeInt32LE(value, offset);
  else buf.writeInt32BE(value, offset);
}

/** A u32 as 4 bytes in host byte order (an attribute's value, nftnl's user data). */
export function hostU32(value: number): Buffer {
  const b = Buffer.alloc(4);
  writeU32(b, value, 0);
  return b;
}

/** Rounds a length up to netlink's 4-byte alignment (NLMSG_ALIGN, RTA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

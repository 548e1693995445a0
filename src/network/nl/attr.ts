// rtattr: the type-length-value attributes that follow every rtnetlink header, nested where
// an attribute holds more attributes (IFLA_LINKINFO > IFLA_INFO_DATA > VETH_INFO_PEER).
import { align4, hostU32, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

/** Size of struct rtattr (rta_len u16, rta_type u16). */
export const RTA_HDRLEN = 4;

/** One attribute to encode: raw bytes, or attributes nested inside it. */
export interface Attr {
  readonly type: number;
  readonly value: Buffer | readonly Attr[];
  /** Sets NLA_F_NESTED on a nested attribute (newer kernel policies insist on it). */
  readonly flagNested?: boolean;
}

/** A u8 attribute. */
export function u8Attr(type: number, value: number): Attr {
  return { type, value: Buffer.from([value & 0xff]) };
}

/** A u32 attribute in host byte order (IFLA_MTU, IFLA_MASTER, RTA_OIF, IFLA_NET_NS_FD). */
export function u32Attr(type: number, value: number): Attr {
  return { type, value: hostU32(value) };
}

/** A big-endian u32 attribute (nf_tables' NLA_BE32: every integer of nf_tables is one). */
export function be32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return { type, value: b };
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
export function stringAttr(type: number, value: string): Attr {
  return { type, value: Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]) };
}

/** A raw-bytes attribute (addresses, a nested struct with attributes after it). */
export function bytesAttr(type: number, value: Buffer): Attr {
  return { type, value };
}

/** An attribute holding attributes. */
export function nestedAttr(type: number, children: readonly Attr[], flagNested = false): Attr {
  return { type, value: children, flagNested };
}

/** Encoded size of attributes, padding included. */
export function attrsLength(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += align4(RTA_HDRLEN + payloadLength(a));
  return n;
}

function payloadLength(a: Attr): number {
  return Buffer.isBuffer(a.value) ? a.value.length : attrsLength(a.value as readonly Attr[]);
}

/** Encodes attributes one after the other, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const out = Buffer.alloc(attrsLength(attrs));
  writeAttrs(out, 0, attrs);
  return out;
}

/**
 * Writes `attrs` at `offset` (room made by attrsLength) and returns the offset after them. A
 * nested attribute's length is known once its children are written, and patched in then: one
 * pass over the tree (asking each level for its length made it quadratic in the nesting, ~5 ms
 * of CPU profile for the firewall of one network, whose rule expressions nest five deep).
 */
function writeAttrs(out: Buffer, offset: number, attrs: readonly Attr[]): number {
  for (const a of attrs) {
    let end: number;
    if (Buffer.isBuffer(a.value)) {
      a.value.copy(out, offset + RTA_HDRLEN);
      end = offset + RTA_HDRLEN + a.value.length;
    } else end = writeAttrs(out, offset + RTA_HDRLEN, a.value as readonly Attr[]);
    const len = end - offset;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} is ${len} bytes, over 65535`);
    writeU16(out, len, offset);
    writeU16(out, a.flagNested ? a.type | NLA_F_NESTED : a.type, offset + 2);
    offset += align4(len);
  }
  return offset;
}

/** Decoded attributes of one level, looked up by type (the last one wins, as in the kernel). */
export class AttrSet {
  private readonly byType = new Map<number, Buffer>();
  /** Every attribute in order, for lists that repeat a type. */
  readonly all: ReadonlyArray<{ readonly type: number; readonly data: Buffer }>;

  constructor(buf: Buffer) {
    const all: { type: number; data: Buffer }[] = [];
    let offset = 0;
    while (offset + RTA_HDRLEN <= buf.length) {
      const len = readU16(buf, offset);
      if (len < RTA_HDRLEN || offset + len > buf.length) {
        const left = buf.length - offset;
        throw new RangeError(`malformed netlink attribute at byte ${offset}: length ${len} of ${left} left`);
      }
      const type = readU16(buf, offset + 2) & NLA_TYPE_MASK;
      const data = buf.subarray(offset + RTA_HDRLEN, offset + len);
      all.push({ type, data });
      this.byType.set(type, data);
      offset += align4(len);
    }
    this.all = all;
  }

  /** Whether the attribute is present. */
  has(type: number): boolean {
    return this.byType.has(type);
  }

  /** The raw payload of an attribute. */
  bytes(type: number): Buffer | undefined {
    return this.byType.get(type);
  }

  /** A u8 attribute. */
  u8(type: number): number | undefined {
    const b = this.byType.get(type);
    return b && b.length >= 1 ? b[0] : undefined;
  }

  /** A u32 attribute in host byte order. */
  u32(type: number): number | undefined {
    const b = this.byType.get(type);
    return b && b.length >= 4 ? readU32(b, 0) : undefined;
  }

  /** A string attribute, without its terminating NUL. */
  string(type: number): string | undefined {
    const b = this.byType.get(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }

  /** The attributes nested inside an attribute. */
  nested(type: number): AttrSet | undefined {
    const b = this.byType.get(type);
    return b ? new AttrSet(b) : undefined;
  }
}

// nlmsghdr: the 16-byte header of every netlink message, and the split of one datagram into
// the messages it carries (a dump reply packs many into each read).
import { align4, readU16, readU32, writeU16, writeU32 } from './bytes.js';

/** Size of struct nlmsghdr (NLMSG_HDRLEN). */
export const NLMSG_HDRLEN = 16;

/** A decoded nlmsghdr. */
export interface MessageHeader {
  readonly len: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

/** One message: its header and the payload after it (a family header and attributes). */
export interface Message {
  readonly header: MessageHeader;
  readonly body: Buffer;
}

/** Encodes one message; the length field is computed. */
export function encodeMessage(
  header: { type: number; flags: number; seq: number; pid?: number },
  body: Buffer,
): Buffer {
  const len = NLMSG_HDRLEN + body.length;
  const out = Buffer.alloc(align4(len));
  writeU32(out, len, 0);
  writeU16(out, header.type, 4);
  writeU16(out, header.flags, 6);
  writeU32(out, header.seq, 8);
  writeU32(out, header.pid ?? 0, 12);
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Decodes a header at `offset`. */
export function decodeHeader(buf: Buffer, offset = 0): MessageHeader {
  return {
    len: readU32(buf, offset),
    type: readU16(buf, offset + 4),
    flags: readU16(buf, offset + 6),
    seq: readU32(buf, offset + 8),
    pid: readU32(buf, offset + 12),
  };
}

/** Splits a received datagram into its messages (NLMSG_OK / NLMSG_NEXT). */
export function decodeMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= buf.length) {
    const header = decodeHeader(buf, offset);
    if (header.len < NLMSG_HDRLEN || offset + header.len > buf.length) {
      const left = buf.length - offset;
      throw new RangeError(`malformed netlink message at byte ${offset}: length ${header.len} of ${left} left`);
    }
    out.push({ header, body: buf.subarray(offset + NLMSG_HDRLEN, offset + header.len) });
    offset += align4(header.len);
  }
  return out;
}

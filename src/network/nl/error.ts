// nlmsgerr: the kernel's answer to a request with NLM_F_ACK. error 0 is the ACK; a negative
// value is -errno, with the kernel's own explanation when NETLINK_EXT_ACK is on.
import { AttrSet } from './attr.js';
import { readI32, writeI32 } from './bytes.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG } from './constants.js';
import { decodeHeader, NLMSG_HDRLEN, type MessageHeader } from './message.js';

/** A decoded nlmsgerr. */
export interface NetlinkAck {
  /** Positive errno, 0 for a plain ACK. */
  readonly errno: number;
  /** Header of the request this answers. */
  readonly request: MessageHeader;
  /** The kernel's message (NLMSGERR_ATTR_MSG), e.g. "Unknown device type". */
  readonly message?: string;
}

/** Decodes the body of an NLMSG_ERROR message; `flags` are that message's header flags. */
export function decodeAck(body: Buffer, flags: number): NetlinkAck {
  if (body.length < 4 + NLMSG_HDRLEN) throw new RangeError(`truncated nlmsgerr: ${body.length} bytes`);
  const error = readI32(body, 0);
  const request = decodeHeader(body, 4);
  let message: string | undefined;
  if (flags & NLM_F_ACK_TLVS) {
    // Unless capped, the whole request is echoed back before the TLVs.
    const echoed = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : Math.max(request.len, NLMSG_HDRLEN);
    const tlvStart = 4 + ((echoed + 3) & ~3);
    if (tlvStart < body.length) message = new AttrSet(body.subarray(tlvStart)).string(NLMSGERR_ATTR_MSG);
  }
  return { errno: error === 0 ? 0 : -error, request, ...(message ? { message } : {}) };
}

/** Encodes an nlmsgerr body (capped: only the request's header is echoed); for tests and fakes. */
export function encodeAck(errno: number, request: Buffer, tlvs?: Buffer): Buffer {
  const head = Buffer.alloc(4);
  writeI32(head, -errno, 0);
  return Buffer.concat([head, request.subarray(0, NLMSG_HDRLEN), tlvs ?? Buffer.alloc(0)]);
}

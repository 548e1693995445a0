// The little of RFC 1035 the forwarder needs: read a query's header and question, and build
// the replies it gives itself (A records for service names, NODATA, errors). Everything else
// is relayed to the upstream resolvers byte for byte. Pure Buffer code.

/** Record types the forwarder names. */
export const TYPE = { A: 1, AAAA: 28, ANY: 255 } as const;
/** Response codes the forwarder gives. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

const HEADER = 12;
const CLASS_IN = 1;

/** A query's id, flags and its single question. */
export interface Query {
  readonly id: number;
  /** Opcode (0 = standard query). */
  readonly opcode: number;
  /** Recursion desired, echoed in the reply. */
  readonly rd: boolean;
  /** Name as written, lower-cased, without the trailing dot (`db`, `example.com`). */
  readonly name: string;
  readonly type: number;
  readonly qclass: number;
  /** Bytes of the header and question, copied into replies. */
  readonly questionEnd: number;
}

/** Parses a query; undefined when it is not one (a response, no question, malformed). */
export function parseQuery(msg: Buffer): Query | undefined {
  if (msg.length < HEADER) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = HEADER;
  for (;;) {
    const len = msg[offset];
    if (len === undefined || len > 63) return undefined; // compression has no place in a question
    offset += 1;
    if (len === 0) break;
    if (offset + len > msg.length) return undefined;
    labels.push(msg.toString('latin1', offset, offset + len).toLowerCase());
    offset += len;
  }
  if (offset + 4 > msg.length) return undefined;
  return {
    id: msg.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    name: labels.join('.'),
    type: msg.readUInt16BE(offset),
    qclass: msg.readUInt16BE(offset + 2),
    questionEnd: offset + 4,
  };
}

/** Whether a query asks for something of class IN (the only class names are answered in). */
export function isInternet(query: Query): boolean {
  return query.qclass === CLASS_IN || query.qclass === 255;
}

/** A reply to `query` with `addresses` as A records (none: NODATA), authoritative. */
export function answer(msg: Buffer, query: Query, addresses: readonly string[], ttl: number): Buffer {
  const records = addresses.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc000 | HEADER, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(TYPE.A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
    return rr;
  });
  return Buffer.concat([
    header(msg, query, RCODE.NOERROR, records.length, true),
    msg.subarray(HEADER, query.questionEnd),
    ...records,
  ]);
}

/** An error reply (NXDOMAIN, SERVFAIL, REFUSED, FORMERR) that echoes the question when there is one. */
export function failure(msg: Buffer, query: Query | undefined, rcode: number): Buffer {
  if (query)
    return Buffer.concat([
      header(msg, query, rcode, 0, rcode === RCODE.NXDOMAIN),
      msg.subarray(HEADER, query.questionEnd),
    ]);
  const h = Buffer.alloc(HEADER);
  if (msg.length >= 2) msg.copy(h, 0, 0, 2);
  h.writeUInt16BE(0x8000 | rcode, 2);
  return h;
}

/** The id of a message (to match an upstream reply to its query). */
export function messageId(msg: Buffer): number | undefined {
  return msg.length >= 2 ? msg.readUInt16BE(0) : undefined;
}

function header(msg: Buffer, query: Query, rcode: number, answers: number, authoritative: boolean): Buffer {
  const h = Buffer.alloc(HEADER);
  msg.copy(h, 0, 0, 2);
  const flags = 0x8000 | (query.opcode << 11) | (authoritative ? 0x0400 : 0) | (query.rd ? 0x0100 : 0) | 0x0080 | rcode;
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers, 6);
  return h;
}

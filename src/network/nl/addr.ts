// Address messages (RTM_NEWADDR/DELADDR/GETADDR): struct ifaddrmsg followed by IFA_*
// attributes. For an ordinary (not point-to-point) interface IFA_LOCAL = IFA_ADDRESS.
import { AttrSet, bytesAttr, encodeAttrs, type Attr } from './attr.js';
import { readU32, writeU32 } from './bytes.js';
import { AF_INET, IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL, IFA_LOCAL } from './constants.js';
import { bytesToIp, ipFamily, ipToBytes, ipv4Broadcast, type Cidr } from './ip.js';

/** Size of struct ifaddrmsg. */
export const IFADDRMSG_LEN = 8;

/** struct ifaddrmsg. */
export interface IfAddr {
  readonly family: number;
  readonly prefixLength: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

/** Encodes struct ifaddrmsg; omitted fields are 0. */
export function encodeIfAddr(i: Partial<IfAddr>): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = i.family ?? 0;
  b[1] = i.prefixLength ?? 0;
  b[2] = i.flags ?? 0;
  b[3] = i.scope ?? 0;
  writeU32(b, i.index ?? 0, 4);
  return b;
}

/** Decodes struct ifaddrmsg. */
export function decodeIfAddr(b: Buffer): IfAddr {
  if (b.length < IFADDRMSG_LEN) throw new RangeError(`truncated ifaddrmsg: ${b.length} bytes`);
  return { family: b[0]!, prefixLength: b[1]!, flags: b[2]!, scope: b[3]!, index: readU32(b, 4) };
}

/** Encodes the body of `ip addr add <cidr> dev <index>` (IPv4 gets its broadcast address). */
export function encodeAddrRequest(index: number, cidr: Cidr): Buffer {
  const family = ipFamily(cidr.address);
  const raw = ipToBytes(cidr.address);
  const attrs: Attr[] = [bytesAttr(IFA_LOCAL, raw), bytesAttr(IFA_ADDRESS, raw)];
  if (family === AF_INET && cidr.prefixLength < 31) {
    attrs.push(bytesAttr(IFA_BROADCAST, ipToBytes(ipv4Broadcast(cidr))));
  }
  return Buffer.concat([encodeIfAddr({ family, prefixLength: cidr.prefixLength, index }), encodeAttrs(attrs)]);
}

/** An address as the kernel reports it (`ip addr show`). */
export interface Address {
  readonly index: number;
  readonly family: number;
  readonly address: string;
  readonly prefixLength: number;
  /** `10.0.0.2/24`. */
  readonly cidr: string;
  readonly scope: number;
  readonly broadcast?: string;
  readonly label?: string;
}

/** Decodes the body of an RTM_NEWADDR message. */
export function decodeAddress(body: Buffer): Address {
  const h = decodeIfAddr(body);
  const a = new AttrSet(body.subarray(IFADDRMSG_LEN));
  const raw = a.bytes(IFA_LOCAL) ?? a.bytes(IFA_ADDRESS);
  const address = raw ? bytesToIp(raw) : '';
  const brd = a.bytes(IFA_BROADCAST);
  const label = a.string(IFA_LABEL);
  return {
    index: h.index,
    family: h.family,
    address,
    prefixLength: h.prefixLength,
    cidr: `${address}/${h.prefixLength}`,
    scope: h.scope,
    ...(brd ? { broadcast: bytesToIp(brd) } : {}),
    ...(label !== undefined ? { label } : {}),
  };
}

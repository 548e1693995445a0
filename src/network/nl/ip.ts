// IP addresses as netlink carries them: 4 or 16 raw bytes in network order. Parsing and
// formatting here keeps the codecs free of string handling and their callers free of bytes.
import { AF_INET, AF_INET6 } from './constants.js';
import { ipToBytes } from '../../sys/ip-text.js';

/** Its text's bytes (the grammar is sys/ip-text.ts's, which the spec's checks share). */
export { ipToBytes };

/** An address with its prefix length, as `ip addr add 10.0.0.2/24` takes it. */
export interface Cidr {
  readonly address: string;
  readonly prefixLength: number;
}

/** The address family of an IP address string (IPv6 when it has a colon). */
export function ipFamily(address: string): typeof AF_INET | typeof AF_INET6 {
  return address.includes(':') ? AF_INET6 : AF_INET;
}

/** Formats 4 or 16 network-order bytes (IPv6 compressed as RFC 5952 says). */
export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError(`an IP address is 4 or 16 bytes, not ${bytes.length}`);
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** Parses `10.0.0.2/24` (a bare address gets the full-length prefix). */
export function parseCidr(text: string): Cidr {
  const [address = '', prefix] = text.split('/');
  const max = ipFamily(address) === AF_INET ? 32 : 128;
  ipToBytes(address);
  if (prefix === undefined) return { address, prefixLength: max };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw new TypeError(`bad prefix length in ${JSON.stringify(text)}`);
  }
  return { address, prefixLength: Number(prefix) };
}

/** The IPv4 broadcast address of a network (`ip addr add ... brd +`). */
export function ipv4Broadcast(cidr: Cidr): string {
  const b = ipToBytes(cidr.address);
  const host = cidr.prefixLength >= 32 ? 0 : 0xffffffff >>> cidr.prefixLength;
  const value = (b.readUInt32BE(0) | host) >>> 0;
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return bytesToIp(out);
}

// IP addresses as netlink carries them: 4 or 16 raw bytes in network order. Parsing and
// formatting here keeps the codecs free of string handling and their callers free of bytes.
import { AF_INET, AF_INET6 } from './constants.js';

/** An address with its prefix length, as `ip addr add 10.0.0.2/24` takes it. */
export interface Cidr {
  readonly address: string;
  readonly prefixLength: number;
}

/** The address family of an IP address string (IPv6 when it has a colon). */
export function ipFamily(address: string): typeof AF_INET | typeof AF_INET6 {
  return address.includes(':') ? AF_INET6 : AF_INET;
}

/** An IPv4 or IPv6 address as its network-order bytes. */
export function ipToBytes(address: string): Buffer {
  return address.includes(':') ? ipv6ToBytes(address) : ipv4ToBytes(address);
}

function ipv4ToBytes(address: string): Buffer {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TypeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  }
  return Buffer.from(parts.map(Number));
}

function ipv6ToBytes(address: string): Buffer {
  const bad = (): never => {
    throw new TypeError(`not an IPv6 address: ${JSON.stringify(address)}`);
  };
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 address (::ffff:10.0.0.1) is two more 16-bit groups.
    const v4 = ipv4ToBytes(last);
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const groups = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : bad()));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) bad();
  const words = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
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

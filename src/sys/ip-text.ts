// IP addresses as text: their grammar, in one place for the spec's checks (spec/addresses.ts,
// which reach nothing of the network layer) and the netlink codecs (network/nl/ip.ts). Not
// node:net's isIP: loading node:net (and the streams it loads, ~2 ms) for it alone made every
// fresh `up` pay.

/** A dotted-quad IPv4 address, each part 0-255 without a leading zero (as node:net's isIP takes it). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** An IPv6 address's zone (`%eth0`), as node:net's isIP takes it. */
const ZONE = /^%[0-9a-zA-Z.:-]+$/;

/** An IPv4 or IPv6 address as its network-order bytes; a TypeError for anything else. */
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

/**
 * 4 for an IPv4 address, 6 for an IPv6 one (a zone allowed), 0 otherwise: node:net's isIP. Its
 * IPv4 parts, an IPv6 address's IPv4 tail too, have no leading zero (ipToBytes takes one).
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  const zone = text.indexOf('%');
  if (zone >= 0 && !ZONE.test(text.slice(zone))) return 0;
  const address = zone >= 0 ? text.slice(0, zone) : text;
  const tail = address.slice(address.lastIndexOf(':') + 1);
  if (!address.includes(':') || (tail.includes('.') && !IPV4.test(tail))) return 0;
  try {
    ipv6ToBytes(address);
    return 6;
  } catch {
    return 0;
  }
}

// IPv4 addresses and subnets as written in a spec, checked before anything reaches the kernel.

/** A dotted-quad IPv4 address, each part 0-255 without a leading zero (as node:net's isIP takes it). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** An IPv6 address's zone (`%eth0`), as node:net's isIP takes it. */
const ZONE = /^%[0-9a-zA-Z.:-]+$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Whether `text` is an IPv6 address: eight groups, `::` for a run of zeros, an IPv4 tail, a zone. */
function isIpv6(text: string): boolean {
  const zone = text.indexOf('%');
  if (zone >= 0 && !ZONE.test(text.slice(zone))) return false;
  let body = zone >= 0 ? text.slice(0, zone) : text;
  const lastColon = body.lastIndexOf(':');
  if (lastColon < 0) return false;
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!IPV4.test(tail)) return false;
    body = `${body.slice(0, lastColon + 1)}0:0`; // the IPv4 tail is two groups
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((g) => GROUP.test(g))) return false;
  return halves.length === 1 ? groups.length === 8 : groups.length <= 7;
}

/**
 * 4 for an IPv4 address, 6 for an IPv6 one, 0 otherwise: node:net's isIP, which a spec check
 * loading node:net (and the streams it loads, ~2 ms) for alone would make every fresh `up` pay.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  return isIpv6(text) ? 6 : 0;
}

/** The address as a 32-bit number, or undefined when `text` is not dotted-quad IPv4. */
export function ipv4ToNumber(text: string): number | undefined {
  if (ipVersion(text) !== 4) return undefined;
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** A parsed `a.b.c.d/len` subnet, or undefined when `text` is not one. */
export function parseSubnet(text: string): { base: number; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const base = ipv4ToNumber(m[1]!);
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  return { base, prefix };
}

/** True when `address` lies inside `subnet`. */
export function subnetContains(subnet: { base: number; prefix: number }, address: number): boolean {
  const size = 2 ** (32 - subnet.prefix);
  const start = subnet.base - (subnet.base % size);
  return address >= start && address < start + size;
}

/** True for an IPv4 or IPv6 address. */
export function isAddress(text: string): boolean {
  return ipVersion(text) !== 0;
}

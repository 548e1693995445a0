// IPv4 addresses and prefixes as plain numbers, for IPAM and the firewall ruleset.
// Pure: no I/O. An address is an unsigned 32-bit integer; a prefix is (network, length).

/** An IPv4 prefix such as 10.209.3.0/24, with its network address as a number. */
export interface Cidr {
  readonly network: number;
  readonly length: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses a dotted quad; undefined when it is not one (`10.0.0.256`, `::1`, `10.1`). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats a number as a dotted quad. */
export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n` (a bare address means /32); host bits are cleared. Undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const address = parseIpv4(addr);
  const length = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (address === undefined || !(length >= 0 && length <= 32)) return undefined;
  return { network: address - (address % size({ network: 0, length })), length };
}

/** Formats a prefix as `a.b.c.d/n`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.length}`;
}

/** Number of addresses in the prefix (2^(32-length)). */
export function size(cidr: Cidr): number {
  return 2 ** (32 - cidr.length);
}

/** Last address of the prefix (the broadcast address for /30 and shorter). */
export function lastAddress(cidr: Cidr): number {
  return cidr.network + size(cidr) - 1;
}

/** Whether the address lies inside the prefix. */
export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= lastAddress(cidr);
}

/** Whether two prefixes share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** First and last address usable by hosts: network and broadcast excluded below /31. */
export function hostRange(cidr: Cidr): { first: number; last: number } {
  if (cidr.length >= 31) return { first: cidr.network, last: lastAddress(cidr) };
  return { first: cidr.network + 1, last: lastAddress(cidr) - 1 };
}

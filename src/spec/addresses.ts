// IPv4 addresses and subnets as written in a spec, checked before anything reaches the kernel.
import { ipVersion } from '../sys/ip-text.js';

/** 4, 6 or 0 (not an address): node:net's isIP (sys/ip-text.ts). */
export { ipVersion };

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

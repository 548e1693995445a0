// Address verbs, one per `ip addr` command, on a handle bound to a network namespace.
import type { Handle } from './handle.js';
import { linkIndex, type LinkRef } from './link.js';
import {
  AF_UNSPEC, decodeAddress, encodeAddrRequest, encodeIfAddr, NLM_F_CREATE, NLM_F_EXCL, parseCidr,
  RTM_GETADDR, RTM_NEWADDR, type Address,
} from './nl/index.js';

export type { Address } from './nl/index.js';

/** Adds an address to a link. Equivalent to: `ip addr add $cidr brd + dev $link`. */
export function addrAdd(h: Handle, link: LinkRef, cidr: string, name: string = String(link)): void {
  const what = `${cidr} dev ${name}${h.where}`;
  const index = typeof link === 'number' ? link : linkIndex(h, link, `RTM_NEWADDR ${what}`);
  h.socket.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, encodeAddrRequest(index, parseCidr(cidr)), what);
}

/**
 * The addresses of the handle's namespace, of one link when `link` is given.
 * Equivalent to: `ip addr show [dev $link]`.
 */
export function addrList(h: Handle, link?: LinkRef, family = AF_UNSPEC): Address[] {
  const index =
    link === undefined || typeof link === 'number' ? link : linkIndex(h, link, `RTM_GETADDR dev ${link}${h.where}`);
  const all = h.socket
    .dump(RTM_GETADDR, encodeIfAddr({ family }), `dump${h.where}`)
    .map((m) => decodeAddress(m.body));
  return all.filter((a) => (index === undefined || a.index === index) && (family === AF_UNSPEC || a.family === family));
}

// What the host's links, addresses and routes say, read over netlink. Imported on demand (a
// dynamic import) by the address allocation and the external networks, which need it only
// sometimes: a command that reads none of it, such as a no-op `up`, does not load the netlink
// layer (its socket, the namespace switch, the link, route and nf_tables codecs: ~20 modules).
import { addrList } from './addr.js';
import { withHandle } from './handle.js';
import { reservedPrefixes } from './ipam.js';
import { linkGet } from './link.js';
import { AF_INET } from './nl/index.js';
import { routeList } from './route.js';

/** The prefixes in use on the host (its addresses and routes), without those of the bridges in `own`. */
export function hostPrefixes(own: ReadonlySet<string>): string[] {
  return withHandle(undefined, (h) => {
    // The own bridges asked for by name (none there yet on a first `up`), not found in a dump of
    // every link of the host decoded whole: 20 services' veths made that dump most of the
    // allocation's time (hostPrefixes 7.5 ms in a fresh process, 1.3 warm).
    const ownIndexes = new Set([...own].flatMap((name) => linkGet(h, name)?.index ?? []));
    return reservedPrefixes(addrList(h, undefined, AF_INET), routeList(h, AF_INET), ownIndexes);
  });
}

/** The host's link `name`: its kind and IPv4 addresses (CIDR), or undefined when there is none. */
export function hostLink(name: string): { kind: string | undefined; addresses: string[] } | undefined {
  return withHandle(undefined, (h) => {
    const link = linkGet(h, name);
    if (!link) return undefined;
    return { kind: link.kind, addresses: addrList(h, link.index, AF_INET).map((a) => a.cidr) };
  });
}

/** The keys of `links` (key → link name) whose link is plugged into `bridge`; none when the bridge is gone. */
export function pluggedInto(bridge: string, links: readonly (readonly [string, string])[]): string[] {
  return withHandle(undefined, (h) => {
    const master = linkGet(h, bridge)?.index;
    if (master === undefined) return [];
    return links
      .filter(([, link]) => linkGet(h, link)?.master === master)
      .map(([key]) => key)
      .sort();
  });
}

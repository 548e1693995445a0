// The host's resolvers, read from /etc/resolv.conf: where the forwarder sends what it does
// not answer itself. A loopback resolver (systemd-resolved's 127.0.0.53) is fine: the
// forwarder runs in the host's network namespace, not in the service's.

/** What the forwarder and resolv.conf generation take from the host's resolv.conf. */
export interface HostResolvers {
  /** Nameserver addresses in file order (IPv6 scope ids dropped). */
  readonly nameservers: readonly string[];
  /** Search domains, copied into the services' resolv.conf. */
  readonly search: readonly string[];
}

/** Parses resolv.conf text; with no nameserver line, glibc's default (127.0.0.1) applies. */
export function parseResolvConf(text: string): HostResolvers {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const [keyword, ...rest] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (keyword === 'nameserver' && rest[0]) nameservers.push(rest[0].replace(/%.*$/, ''));
    if ((keyword === 'search' || keyword === 'domain') && rest.length) search = rest;
  }
  return { nameservers: nameservers.length ? nameservers : ['127.0.0.1'], search };
}

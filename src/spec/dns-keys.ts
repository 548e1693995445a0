// `dns`, `dns_search` and `dns_opt` as compose reads them (a string or a list each): the
// service's own resolvers, which stack's forwarder relays its queries for names outside the
// project to (as Docker's embedded DNS does: service names keep resolving), the search domains
// of its resolv.conf (replacing the host's; "." for none) and its `options` line.
import { ipVersion } from './addresses.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';

/** What the spec says about the service's name resolution. */
export interface DnsKeys {
  readonly dns?: readonly string[];
  readonly dnsSearch?: readonly string[];
  readonly dnsOpt?: readonly string[];
}

const list = (v: unknown): unknown[] | undefined => (v === undefined || v === null ? undefined : Array.isArray(v) ? v : [v]);

/** Reads `dns`, `dns_search` and `dns_opt`; problems go to `report`. */
export function dnsKeys(spec: Readonly<Record<string, unknown>>, at: (...rest: (string | number)[]) => KeyPath, report: Report): DnsKeys {
  const out: { dns?: string[]; dnsSearch?: string[]; dnsOpt?: string[] } = {};
  const where = (key: string, i: number) => (Array.isArray(spec[key]) ? at(key, i) : at(key));
  const dns = list(spec.dns);
  if (dns !== undefined) {
    const servers: string[] = [];
    dns.forEach((d, i) => {
      const text = String(d).trim();
      if (ipVersion(text) === 0) report.error(where('dns', i), 'BAD_DNS', `\`${text}\` is not an IP address`, { expected: 'the address of a DNS server, e.g. 1.1.1.1', hint: 'a name cannot be looked up before there is a resolver: give its address' });
      else if (ipVersion(text) === 6) report.error(where('dns', i), 'BAD_DNS', `\`${text}\` is an IPv6 address`, { expected: 'an IPv4 address (stack networks are IPv4 only)' });
      else servers.push(text);
    });
    if (servers.length > 0) out.dns = servers;
  }
  const search = list(spec.dns_search);
  if (search !== undefined) {
    const domains: string[] = [];
    search.forEach((d, i) => {
      const text = String(d).trim();
      if (text !== '.' && !/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(text)) {
        report.error(where('dns_search', i), 'BAD_DNS_SEARCH', `\`${text}\` is not a domain`, { expected: 'a domain such as example.com, or "." for no search domain' });
      } else domains.push(text);
    });
    if (domains.length > 0) out.dnsSearch = domains;
  }
  const opts = list(spec.dns_opt);
  if (opts !== undefined) {
    const options: string[] = [];
    opts.forEach((o, i) => {
      const text = String(o).trim();
      if (!/^[a-z0-9_-]+(:\d+)?$/i.test(text)) report.error(where('dns_opt', i), 'BAD_DNS_OPT', `\`${text}\` is not a resolver option`, { expected: 'an option of resolv.conf(5), e.g. ndots:2, timeout:1, use-vc' });
      else options.push(text);
    });
    if (options.length > 0) out.dnsOpt = options;
  }
  return out;
}

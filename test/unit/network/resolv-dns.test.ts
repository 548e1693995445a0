// A service's dns, dns_search and dns_opt in its resolv.conf and in the forwarder's listeners:
// stack's forwarder stays the nameserver (service names keep resolving), `dns` servers become
// that service's upstreams, keyed by its address on each network.
import { describe, expect, it } from 'vitest';
import { resolvConf } from '../../../src/network/hosts.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import type { NamedService } from '../../../src/network/peers.js';
import { dnsListeners } from '../../../src/network/dns/listeners.js';

const svc = (networks: string[], extra: Partial<NamedService> = {}): NamedService => ({
  hostname: 'h',
  networks: Object.fromEntries(networks.map((n) => [n, { aliases: [], priority: 0 }])),
  extraHosts: [],
  ...extra,
});
const project = {
  services: {
    app: svc(['back'], { dns: ['192.0.2.53', '192.0.2.54'], dnsSearch: ['corp.example'], dnsOpt: ['ndots:2', 'timeout:1'] }),
    db: svc(['back']),
    lone: svc([], { dns: ['192.0.2.53'], dnsSearch: ['.'] }),
  },
  networks: { back: { internal: false } },
};
const ipam: IpamRecord = { version: 1, networks: { back: { subnet: '10.209.0.0/24', gateway: '10.209.0.1', addresses: { app: '10.209.0.2', db: '10.209.0.3' } } } };

describe('resolv.conf with dns keys', () => {
  it("keeps stack's forwarder, replaces the host's search domains and adds the options", () => {
    expect(resolvConf(project, ipam, 'app', { search: ['host.example'] })).toBe(
      '# written by stack: the forwarder on the network gateway answers service names and forwards the rest\nnameserver 10.209.0.1\nsearch corp.example\noptions ndots:2 timeout:1\n',
    );
  });
  it("keeps the host's search domains without dns_search", () => {
    expect(resolvConf(project, ipam, 'db', { search: ['host.example'] })).toContain('search host.example\n');
  });
  it('names its dns servers itself when on no stack network; "." is no search domain', () => {
    expect(resolvConf(project, ipam, 'lone', { search: ['host.example'] })).toBe(
      '# written by stack: the forwarder on the network gateway answers service names and forwards the rest\nnameserver 192.0.2.53\n',
    );
  });
});

describe('forwarder listeners with links', () => {
  it("answer a link's alias to the linking service only", () => {
    const linked = { ...project, services: { ...project.services, db: svc(['back'], { links: [{ service: 'app', alias: 'api' }] }) } };
    const [listener] = dnsListeners(linked, ipam);
    expect(Object.fromEntries([...(listener!.aliasesOf ?? [])].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({ '10.209.0.3': { api: ['10.209.0.2'] } });
    expect(listener!.names.has('api')).toBe(false);
  });
});

describe('forwarder listeners with dns keys', () => {
  it("map the service's address to its own resolvers; others use the host's", () => {
    const [listener] = dnsListeners(project, ipam);
    expect(Object.fromEntries(listener!.upstreamsOf ?? [])).toEqual({ '10.209.0.2': [{ address: '192.0.2.53' }, { address: '192.0.2.54' }] });
  });
});

describe('forwarder listeners with guests of other projects', () => {
  it("answer a guest's service and container names (beside this project's service of that name), from the stored allocation", () => {
    const back = ipam.networks.back!;
    const stored: IpamRecord = { ...ipam, networks: { ...ipam.networks, back: { ...back, guests: { 'other/db': { address: '10.209.0.9', link: 'stkx' }, 'other/cache': { address: '10.209.0.10', link: 'stky' } } } } };
    const [listener] = dnsListeners(project, ipam, stored);
    expect(listener!.names.get('cache')).toEqual(['10.209.0.10']);
    expect(listener!.names.get('other-cache-1')).toEqual(['10.209.0.10']);
    expect(listener!.names.get('db')).toEqual([back.addresses.db, '10.209.0.9']);
    expect(dnsListeners(project, ipam)[0]!.names.has('cache')).toBe(false);
  });
});

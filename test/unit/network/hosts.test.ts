import { describe, expect, it } from 'vitest';
import { hostnameFile, hostsFile, resolvConf } from '../../../src/network/hosts.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import { type NamedProject, type NamedService, nameTable, orderedNetworks } from '../../../src/network/peers.js';

function service(networks: NamedService['networks'], extra: Partial<NamedService> = {}): NamedService {
  return { hostname: 'unused', networks, extraHosts: [], ...extra };
}
const net = (priority = 0, ...aliases: string[]) => ({ aliases, priority });

const project: NamedProject = {
  services: {
    api: service(
      { front: net(), back: net(10, 'app') },
      {
        hostname: 'api-host',
        extraHosts: [
          { host: 'host.docker.internal', ip: 'host-gateway' },
          { host: 'metrics', ip: '192.0.2.7' },
        ],
      },
    ),
    db: service({ back: net(0, 'postgres', 'APP') }, { hostname: 'db', containerName: 'shop-db' }),
    web: service({ front: net(0, 'www') }, { hostname: 'web' }),
    lone: service({ island: net() }, { hostname: 'lone' }),
  },
};

const ipam: IpamRecord = {
  version: 1,
  networks: {
    back: { subnet: '10.209.0.0/24', gateway: '10.209.0.1', addresses: { api: '10.209.0.2', db: '10.209.0.3' } },
    front: { subnet: '10.209.1.0/24', gateway: '10.209.1.1', addresses: { api: '10.209.1.2', web: '10.209.1.3' } },
    island: { subnet: '10.209.2.0/24', gateway: '10.209.2.1', addresses: { lone: '10.209.2.2' } },
  },
};

describe('orderedNetworks', () => {
  it('puts higher priority first, then sorts by key', () => {
    expect(orderedNetworks(service({ b: net(), a: net(), z: net(5) }))).toEqual(['z', 'a', 'b']);
  });
});

describe('hostsFile', () => {
  it('lists itself, extra hosts and every peer on a shared network by name, container name and alias', () => {
    expect(hostsFile(project, ipam, 'api')).toMatchInlineSnapshot(`
      "# /etc/hosts of service api, written by stack (rewritten when a peer's address changes)
      127.0.0.1	localhost
      ::1	localhost ip6-localhost ip6-loopback
      fe00::	ip6-localnet
      ff00::	ip6-mcastprefix
      ff02::1	ip6-allnodes
      ff02::2	ip6-allrouters
      10.209.0.1	host.docker.internal
      192.0.2.7	metrics
      10.209.0.2	api-host api app
      10.209.0.3	db shop-db postgres
      10.209.1.3	web www
      "
    `);
  });

  it('does not list services on networks it does not share', () => {
    const text = hostsFile(project, ipam, 'web');
    expect(text).toContain('10.209.1.2\tapi\n');
    expect(text).not.toMatch(/\bdb\b|lone|10\.209\.0\./);
    expect(hostsFile(project, ipam, 'lone')).not.toMatch(/\bapi\b|\bweb\b/);
  });

  it('follows a peer whose address changed', () => {
    const moved: IpamRecord = {
      ...ipam,
      networks: {
        ...ipam.networks,
        front: { ...ipam.networks.front!, addresses: { api: '10.209.1.2', web: '10.209.1.77' } },
      },
    };
    expect(hostsFile(project, moved, 'api')).toContain('10.209.1.77\tweb www\n');
  });

  it('explains a host-gateway it cannot resolve', () => {
    const orphan: NamedProject = {
      services: { x: service({ ext: net() }, { extraHosts: [{ host: 'h', ip: 'host-gateway' }] }) },
    };
    expect(() => hostsFile(orphan, ipam, 'x')).toThrow(expect.objectContaining({ code: 'HOST_GATEWAY_UNKNOWN' }));
  });
});

describe('nameTable', () => {
  it('maps every name on one network, service names before aliases, case-insensitively', () => {
    expect(Object.fromEntries(nameTable(project, ipam, 'back'))).toEqual({
      api: ['10.209.0.2'],
      db: ['10.209.0.3'],
      'shop-db': ['10.209.0.3'],
      postgres: ['10.209.0.3'],
      app: ['10.209.0.2', '10.209.0.3'], // an alias two services carry: both, as Docker answers
    });
  });
});

describe('nameTable with shared names', () => {
  it('a name several services carry answers with all their addresses, the service of that name first', () => {
    const svc = (aliases: string[]): NamedService => ({ hostname: 'h', networks: { n: { aliases, priority: 0 } }, extraHosts: [] });
    const shared: NamedProject = { services: { web: svc([]), 'web-run-1a2b3c': svc(['web']), a: svc(['cache']), b: svc(['cache']) } };
    const addresses = { a: '10.0.0.2', b: '10.0.0.3', web: '10.0.0.4', 'web-run-1a2b3c': '10.0.0.5' };
    const table = nameTable(shared, { version: 1, networks: { n: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', addresses } } } as never, 'n');
    expect(table.get('web')).toEqual(['10.0.0.4', '10.0.0.5']);
    expect(table.get('cache')).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(table.get('web-run-1a2b3c')).toEqual(['10.0.0.5']);
  });
});

describe('hostname and resolv.conf', () => {
  it('writes the hostname', () => {
    expect(hostnameFile(project, 'api')).toBe('api-host\n');
  });

  it('points at the forwarders on the gateways, first network first, keeping the search domains', () => {
    expect(resolvConf(project, ipam, 'api', { search: ['corp.example'] })).toMatchInlineSnapshot(`
      "# written by stack: the forwarder on the network gateway answers service names and forwards the rest
      nameserver 10.209.0.1
      nameserver 10.209.1.1
      search corp.example
      "
    `);
  });
});

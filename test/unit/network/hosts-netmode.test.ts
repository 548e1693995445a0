// Name files and DNS names under network_mode: a sharer's /etc/hosts and resolv.conf are its
// owner's (its own hostname on the owner's address), its name answers at the owner's address on
// every network, and `host` gets the host's files with its extra_hosts; external networks have
// no DNS listener of the attaching project.
import { describe, expect, it } from 'vitest';
import { hostsFile, resolvConf } from '../../../src/network/hosts.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import { dnsListeners } from '../../../src/network/dns/listeners.js';
import { type NamedProject, nameTable, netnsOwnerOf } from '../../../src/network/peers.js';

const project: NamedProject & { networks: Record<string, { internal: boolean }> } = {
  networks: { default: { internal: false }, shared: { internal: false } },
  services: {
    web: { hostname: 'web', networks: { default: { aliases: [], priority: 0 } }, extraHosts: [] },
    side: { hostname: 'web', networks: {}, extraHosts: [], networkMode: { kind: 'service', service: 'web' }, containerName: 'the-side' },
    edge: { hostname: 'edge', networks: {}, extraHosts: [{ host: 'gw', ip: 'host-gateway' }], networkMode: { kind: 'host' } },
    peer: { hostname: 'peer', networks: { default: { aliases: [], priority: 0 } }, extraHosts: [] },
  },
};
const ipam: IpamRecord = {
  version: 1,
  networks: {
    default: { subnet: '10.209.0.0/24', gateway: '10.209.0.1', addresses: { web: '10.209.0.2', peer: '10.209.0.3' } },
    shared: { subnet: '10.209.9.0/24', gateway: '10.209.9.1', addresses: { peer: '10.209.9.5' }, bridge: 'stkbother', owner: { project: 'o', network: 'default' } },
  },
};

describe('network_mode in names', () => {
  it('a sharer has its owner\'s files', () => {
    expect(netnsOwnerOf(project, 'side')).toBe('web');
    expect(hostsFile(project, ipam, 'side')).toContain('10.209.0.2\tweb side the-side');
    expect(hostsFile(project, ipam, 'side')).toContain('10.209.0.3\tpeer');
    expect(resolvConf(project, ipam, 'side')).toContain('nameserver 10.209.0.1');
  });

  it('a sharer\'s names answer at its owner\'s address; a peer\'s hosts file lists them', () => {
    expect(nameTable(project, ipam, 'default').get('side')).toEqual(['10.209.0.2']);
    expect(nameTable(project, ipam, 'default').get('the-side')).toEqual(['10.209.0.2']);
    expect(hostsFile(project, ipam, 'peer')).toContain('10.209.0.2\tweb side the-side');
  });

  it('host: the host\'s files, its extra_hosts after them', () => {
    const hosts = hostsFile(project, ipam, 'edge', '127.0.0.1 localhost\n192.0.2.1 box\n');
    expect(hosts).toContain('192.0.2.1 box');
    expect(hosts.trimEnd().split('\n').at(-1)).toBe('127.0.0.1\tgw');
    expect(resolvConf(project, ipam, 'edge', { resolvConf: 'nameserver 192.0.2.53\n' })).toBe('nameserver 192.0.2.53\n');
  });

  it('an external network gets no listener of this project (its gateway is its owner\'s)', () => {
    expect(dnsListeners(project, ipam).map((l) => l.address)).toEqual(['10.209.0.1']);
  });
});

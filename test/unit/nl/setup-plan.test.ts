// The pure parts of project network setup: which veths, in which order, with which addresses
// and which one carries the default route; the device group; the link names teardown owns.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { bridgeName, vethHostName } from '../../../src/names.js';
import {
  attachRequests, ownerAlias, parseOwnerAlias, projectLinkGroup, projectLinkNames, type ProjectNetworkSpec,
} from '../../../src/network/index.js';
import { AttrSet, decodeLink, encodeLinkRequest, IFINFOMSG_LEN, IFLA_GROUP } from '../../../src/network/nl/index.js';

const spec: ProjectNetworkSpec = {
  project: 'shop',
  networks: {
    back: { internal: true, external: false },
    front: { internal: false, external: false },
    shared: { internal: false, external: true },
  },
  services: {
    api: { networks: { back: { priority: 0 }, front: { priority: 0 }, shared: { priority: 10 } } },
    db: { networks: { back: { priority: 0 } } },
  },
  ipam: {
    version: 1,
    networks: {
      back: { subnet: '10.209.1.0/24', gateway: '10.209.1.1', addresses: { api: '10.209.1.2', db: '10.209.1.3' } },
      front: { subnet: '10.209.2.0/24', gateway: '10.209.2.1', addresses: { api: '10.209.2.2' } },
      shared: { subnet: '10.209.3.0/24', gateway: '10.209.3.1', addresses: { api: '10.209.3.2' } },
    },
  },
};

describe('project network setup plan', () => {
  it('orders eth0.. by priority then key, routes via the first non-internal network', () => {
    const rows = attachRequests(spec).map((r) => [r.service, `eth${r.index}`, r.network, r.address, r.defaultGateway]);
    expect(rows).toEqual([
      ['api', 'eth0', 'shared', '10.209.3.2/24', '10.209.3.1'],
      ['api', 'eth1', 'back', '10.209.1.2/24', undefined],
      ['api', 'eth2', 'front', '10.209.2.2/24', undefined],
      ['db', 'eth0', 'back', '10.209.1.3/24', undefined],
    ]);
  });

  it('refuses to attach a service that has no address on a network', () => {
    const back = { ...spec.ipam.networks.back!, addresses: {} };
    const missing = { ...spec, ipam: { version: 1 as const, networks: { ...spec.ipam.networks, back } } };
    expect(() => attachRequests(missing)).toThrow('no address allocated for api on network back');
  });

  it('owns the bridges of its own networks and the host side of every veth', () => {
    expect(projectLinkNames(spec)).toEqual(
      [
        bridgeName('shop', 'back'), bridgeName('shop', 'front'),
        vethHostName('shop', 'api', 'back'),
        vethHostName('shop', 'api', 'front'),
        vethHostName('shop', 'api', 'shared'),
        vethHostName('shop', 'db', 'back'),
      ].sort(),
    );
  });

  it('derives a stable non-zero device group per project', () => {
    expect(projectLinkGroup('shop')).toBe(projectLinkGroup('shop'));
    expect(projectLinkGroup('shop')).not.toBe(projectLinkGroup('shop2'));
    for (const p of ['a', 'b', 'shop', 'x'.repeat(60)]) {
      expect(projectLinkGroup(p)).toBeGreaterThan(0);
      expect(projectLinkGroup(p)).toBeLessThan(2 ** 31);
    }
  });

  it('carries the group and alias in link requests and replies', () => {
    const body = encodeLinkRequest({ name: 'stkb1', kind: 'bridge', group: 1234, alias: 'stack:shop/back' });
    expect(new AttrSet(body.subarray(IFINFOMSG_LEN)).u32(IFLA_GROUP)).toBe(1234);
    expect(decodeLink(body)).toMatchObject({ group: 1234, alias: 'stack:shop/back' });
  });

  it('stamps and reads back the owner of a link', () => {
    expect(ownerAlias('shop', 'back')).toBe('stack:shop/back');
    expect(ownerAlias('shop', 'back', 'api')).toBe('stack:shop/back/api');
    const veth = parseOwnerAlias(ownerAlias('shop', 'back', 'api'));
    expect(veth).toEqual({ project: 'shop', network: 'back', service: 'api' });
    expect(parseOwnerAlias(ownerAlias('shop', 'back'))).toEqual({ project: 'shop', network: 'back' });
    expect(parseOwnerAlias('docker0 uplink')).toBeUndefined();
    expect(parseOwnerAlias(undefined)).toBeUndefined();
  });

  it('loads no FFI until a verb is called (stack --version stays fast)', () => {
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).filter((k) => k.includes('/koffi/'))).toEqual([]);
  });
});

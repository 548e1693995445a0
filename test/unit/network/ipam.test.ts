import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { formatCidr, parseCidr, parseIpv4 } from '../../../src/network/cidr.js';
import { allocate, reservedPrefixes, type IpamRequest } from '../../../src/network/ipam.js';
import { allocateStored, jsonFileStore, memoryStore } from '../../../src/network/ipam-store.js';

const on = (...keys: string[]) => ({ networks: Object.fromEntries(keys.map((k) => [k, {}])) });

function request(overrides: Partial<IpamRequest> = {}): IpamRequest {
  return {
    networks: { default: { ipam: [] }, back: { ipam: [] } },
    services: { web: on('default'), db: on('default', 'back'), worker: on('back') },
    reserved: [],
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.code;
    throw e;
  }
  return undefined;
}

describe('cidr', () => {
  it('parses and clears host bits', () => {
    expect(formatCidr(parseCidr('10.1.2.3/16')!)).toBe('10.1.0.0/16');
    expect(formatCidr(parseCidr('192.168.1.7')!)).toBe('192.168.1.7/32');
    expect(parseCidr('10.0.0.256/8')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('fd00::/64')).toBeUndefined();
    expect(parseIpv4('01.2.3.4')).toBeUndefined();
  });
});

describe('allocate', () => {
  it('gives each network a /24 of the pool, the first host as gateway, services in name order', () => {
    expect(allocate(request())).toMatchInlineSnapshot(`
      {
        "networks": {
          "back": {
            "addresses": {
              "db": "10.209.0.2",
              "worker": "10.209.0.3",
            },
            "gateway": "10.209.0.1",
            "subnet": "10.209.0.0/24",
          },
          "default": {
            "addresses": {
              "db": "10.209.1.2",
              "web": "10.209.1.3",
            },
            "gateway": "10.209.1.1",
            "subnet": "10.209.1.0/24",
          },
        },
        "version": 1,
      }
    `);
  });

  it('skips subnets that overlap the host addresses and routes, ignoring default routes', () => {
    const r = allocate(request({ reserved: ['0.0.0.0/0', '10.209.0.5/32', '10.209.1.0/25', '192.168.1.0/24'] }));
    expect(r.networks.back!.subnet).toBe('10.209.2.0/24');
    expect(r.networks.default!.subnet).toBe('10.209.3.0/24');
  });

  it('keeps every previous choice on a re-run, even when the host or the spec changed around it', () => {
    const first = allocate(request());
    expect(allocate(request(), first)).toEqual(first);
    // A new service and a new network arrive, and a route now covers the first free /24.
    const grown = request({
      networks: { default: { ipam: [] }, back: { ipam: [] }, extra: { ipam: [] } },
      services: { web: on('default'), db: on('default', 'back'), worker: on('back'), api: on('default', 'extra') },
      reserved: ['10.209.2.0/24'],
    });
    const second = allocate(grown, first);
    expect(second.networks.default!.addresses).toEqual({ ...first.networks.default!.addresses, api: '10.209.1.4' });
    expect(second.networks.back).toEqual(first.networks.back);
    expect(second.networks.extra!.subnet).toBe('10.209.3.0/24');
    // A removed service frees its address; the others keep theirs.
    const shrunk = allocate(request({ services: { db: on('default', 'back'), worker: on('back') } }), first);
    expect(shrunk.networks.default!.addresses).toEqual({ db: '10.209.1.2' });
  });

  it('moves a kept subnet that now overlaps the host', () => {
    const first = allocate(request());
    const moved = allocate(
      request({ reserved: ['10.209.0.0/16'], pool: { base: '10.210.0.0/16', prefixLength: 24 } }),
      first,
    );
    expect(moved.networks.back!.subnet).toBe('10.210.0.0/24');
  });

  it('honours a pinned subnet, gateway, ip_range and ipv4_address', () => {
    const r = allocate(
      request({
        networks: {
          default: { ipam: [{ subnet: '172.30.5.0/24', gateway: '172.30.5.254', ipRange: '172.30.5.128/25' }] },
          back: { ipam: [] },
        },
        services: {
          web: on('default'),
          db: { networks: { default: { ipv4Address: '172.30.5.1' }, back: {} } },
          worker: on('back'),
        },
      }),
    );
    expect(r.networks.default).toEqual({
      subnet: '172.30.5.0/24',
      gateway: '172.30.5.254',
      addresses: { db: '172.30.5.1', web: '172.30.5.128' },
    });
    expect(r.networks.back!.subnet).toBe('10.209.0.0/24');
  });

  it('lets a pinned address take precedence over a previous dynamic one', () => {
    const first = allocate(request());
    const pinned = request({
      services: {
        web: { networks: { default: { ipv4Address: '10.209.1.2' } } },
        db: on('default', 'back'),
        worker: on('back'),
      },
    });
    const r = allocate(pinned, first);
    expect(r.networks.default!.addresses).toEqual({ web: '10.209.1.2', db: '10.209.1.3' });
  });

  it.each([
    [
      'a subnet that is not IPv4',
      { networks: { default: { ipam: [{ subnet: '10.1.0.0/40' }] } }, services: {} },
      'SUBNET_INVALID',
    ],
    [
      'a subnet overlapping the host',
      { networks: { default: { ipam: [{ subnet: '192.168.1.0/24' }] } }, services: {}, reserved: ['192.168.1.10/24'] },
      'SUBNET_OVERLAP',
    ],
    [
      'two networks with overlapping subnets',
      {
        networks: { a: { ipam: [{ subnet: '10.5.0.0/16' }] }, b: { ipam: [{ subnet: '10.5.3.0/24' }] } },
        services: {},
      },
      'SUBNET_OVERLAP',
    ],
    [
      'a gateway outside the subnet',
      { networks: { default: { ipam: [{ subnet: '10.5.0.0/24', gateway: '10.5.1.1' }] } }, services: {} },
      'GATEWAY_OUTSIDE_SUBNET',
    ],
    [
      'an address outside the subnet',
      {
        networks: { default: { ipam: [{ subnet: '10.5.0.0/24' }] } },
        services: { a: { networks: { default: { ipv4Address: '10.6.0.2' } } } },
      },
      'ADDRESS_OUTSIDE_SUBNET',
    ],
    [
      'the broadcast address',
      {
        networks: { default: { ipam: [{ subnet: '10.5.0.0/24' }] } },
        services: { a: { networks: { default: { ipv4Address: '10.5.0.255' } } } },
      },
      'ADDRESS_OUTSIDE_SUBNET',
    ],
    [
      'the gateway address',
      {
        networks: { default: { ipam: [{ subnet: '10.5.0.0/24' }] } },
        services: { a: { networks: { default: { ipv4Address: '10.5.0.1' } } } },
      },
      'ADDRESS_TAKEN',
    ],
    [
      'an address pinned twice',
      {
        networks: { default: { ipam: [] } },
        services: {
          a: { networks: { default: { ipv4Address: '10.209.0.9' } } },
          b: { networks: { default: { ipv4Address: '10.209.0.9' } } },
        },
      },
      'ADDRESS_TAKEN',
    ],
    [
      'a full subnet',
      {
        networks: { default: { ipam: [{ subnet: '10.5.0.0/30' }] } },
        services: { a: on('default'), b: on('default') },
      },
      'SUBNET_FULL',
    ],
    [
      'a pool covered by a host route',
      { networks: { default: { ipam: [] } }, services: {}, reserved: ['10.0.0.0/8'] },
      'POOL_EXHAUSTED',
    ],
  ] as const)('rejects %s', (_what, overrides, code) => {
    expect(codeOf(() => allocate(request(overrides as Partial<IpamRequest>)))).toBe(code);
  });

  it('names the network, the subnet and the service when a subnet is full', () => {
    const full = request({
      networks: { small: { ipam: [{ subnet: '10.5.0.0/29' }] } },
      services: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => [s, on('small')])),
    });
    expect(() => allocate(full)).toThrow(/network small: no free address left in 10\.5\.0\.0\/29 for service f/);
  });

  it('leaves external networks to whoever manages them', () => {
    const r = allocate(request({ networks: { default: { ipam: [] }, back: { ipam: [], external: true } } }));
    expect(Object.keys(r.networks)).toEqual(['default']);
  });
});

describe('reservedPrefixes', () => {
  it("takes the host's IPv4 addresses and routes, minus the project's own bridges and default routes", () => {
    const addresses = [
      { index: 1, cidr: '127.0.0.1/8' },
      { index: 2, cidr: '192.168.1.20/24' },
      { index: 2, cidr: 'fe80::1/64' },
      { index: 7, cidr: '10.209.0.1/24' },
    ];
    const routes = [
      { dst: 'default', oif: 2 },
      { dst: '192.168.1.0/24', oif: 2 },
      { dst: '10.209.0.0/24', oif: 7 },
      { dst: '172.16.0.0/12' },
    ];
    expect(reservedPrefixes(addresses, routes, new Set([7]))).toEqual([
      '127.0.0.1/8',
      '192.168.1.20/24',
      '192.168.1.0/24',
      '172.16.0.0/12',
    ]);
  });
});

describe('stores', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stack-ipam-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps allocations stable across runs through a JSON file', async () => {
    const path = join(dir, 'state', 'ipam.json');
    const first = await allocateStored(jsonFileStore(path), request());
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(first);
    const again = await allocateStored(jsonFileStore(path), request({ reserved: ['10.209.7.0/24'] }));
    expect(again).toEqual(first);
  });

  it('refuses a corrupt record with a hint instead of reallocating silently', async () => {
    const path = join(dir, 'ipam.json');
    await writeFile(path, '{"version":1,"networks":{"x":{"subnet":3}}}');
    await expect(jsonFileStore(path).read()).rejects.toMatchObject({ code: 'IPAM_STATE_CORRUPT' });
  });

  it('works over memory for dry runs', async () => {
    const store = memoryStore();
    const r = await allocateStored(store, request());
    expect(store.current()).toEqual(r);
  });
});

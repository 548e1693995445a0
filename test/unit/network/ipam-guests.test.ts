// The guests of a network (services of other projects attached to it as an external network,
// network/external.ts): kept by the owner's allocator while the subnet stays, never handed to
// one of its own services, dropped with a new subnet.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { allocate, type IpamRequest } from '../../../src/network/ipam.js';

const request = (services: IpamRequest['services'], subnet?: string): IpamRequest => ({
  networks: { default: { ipam: subnet ? [{ subnet }] : [] } },
  services,
  reserved: [],
});

describe('ipam guests', () => {
  const first = allocate(request({ web: { networks: { default: {} } } }));
  const withGuest = {
    version: 1 as const,
    networks: { default: { ...first.networks.default!, guests: { 'other/client': { address: '10.209.0.3', link: 'stkv0000' } } } },
  };

  it('keeps them, and a new service of its own takes the next free address', () => {
    expect(first.networks.default!.addresses).toEqual({ web: '10.209.0.2' });
    const next = allocate(request({ web: { networks: { default: {} } }, db: { networks: { default: {} } } }), withGuest);
    expect(next.networks.default!.guests).toEqual(withGuest.networks.default.guests);
    expect(next.networks.default!.addresses).toEqual({ web: '10.209.0.2', db: '10.209.0.4' });
  });

  it('refuses a pinned address a guest holds, naming it', () => {
    try {
      allocate(request({ web: { networks: { default: { ipv4Address: '10.209.0.3' } } } }), withGuest);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).message).toContain('other/client (another project)');
    }
  });

  it('drops them when the subnet changes (the bridge they were on is gone)', () => {
    const moved = allocate(request({ web: { networks: { default: {} } } }, '10.210.0.0/24'), withGuest);
    expect(moved.networks.default!.guests).toBeUndefined();
  });
});

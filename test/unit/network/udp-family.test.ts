// The UDP socket type for an address: udp6 for IPv6 text in every written form, udp4 for IPv4.
import { describe, expect, test } from 'vitest';
import { isIPv6 } from 'node:net';
import { udpType } from '../../../src/network/udp-family.js';

describe('udpType', () => {
  const addresses = ['127.0.0.1', '0.0.0.0', '10.88.0.1', '::', '::1', 'fe80::1%eth0', '::ffff:10.0.0.1', '2001:db8::53'];
  test.each(addresses)('%s gets the socket node:net would choose', (address) => {
    expect(udpType(address)).toBe(isIPv6(address) ? 'udp6' : 'udp4');
  });
});

import { describe, expect, it } from 'vitest';
import {
  bytesToIp, ipToBytes, ipv4Broadcast, parseCidr, ipFamily, AF_INET, AF_INET6,
} from '../../../src/network/nl/index.js';

describe('IP address bytes', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['255.255.255.255', 'ffffffff'],
    ['::', '0'.repeat(32)],
    ['::1', '0'.repeat(31) + '1'],
    ['fd00::1:2', 'fd00' + '0'.repeat(20) + '00010002'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['::ffff:10.0.0.1', '0'.repeat(20) + 'ffff0a000001'],
  ])('%s is %s', (text, hex) => {
    expect(ipToBytes(text).toString('hex')).toBe(hex);
  });

  it.each(['10.0.0.1', '::', '::1', 'fd00::1:2', '2001:db8::1:0:0:1', 'fe80::1', '1:2:3:4:5:6:7:8', '1::'])(
    'formats %s back to itself',
    (text) => {
      expect(bytesToIp(ipToBytes(text))).toBe(text);
    },
  );

  it('compresses the longest run of zero groups, the first of equal ones', () => {
    expect(bytesToIp(ipToBytes('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(bytesToIp(ipToBytes('1:0:2:3:4:5:6:7'))).toBe('1:0:2:3:4:5:6:7');
  });

  it.each(['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', ''])(
    'rejects %j',
    (text) => {
      expect(() => ipToBytes(text)).toThrow(TypeError);
    },
  );

  it('parses CIDRs and families', () => {
    expect(parseCidr('10.1.2.3/24')).toEqual({ address: '10.1.2.3', prefixLength: 24 });
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefixLength: 32 });
    expect(parseCidr('fd00::2/64')).toEqual({ address: 'fd00::2', prefixLength: 64 });
    expect(() => parseCidr('10.0.0.1/33')).toThrow(/bad prefix length/);
    expect(ipFamily('10.0.0.1')).toBe(AF_INET);
    expect(ipFamily('fd00::1')).toBe(AF_INET6);
  });

  it('computes IPv4 broadcast addresses', () => {
    expect(ipv4Broadcast(parseCidr('10.1.2.3/24'))).toBe('10.1.2.255');
    expect(ipv4Broadcast(parseCidr('172.16.5.1/12'))).toBe('172.31.255.255');
    expect(ipv4Broadcast(parseCidr('10.0.0.1/0'))).toBe('255.255.255.255');
    expect(ipv4Broadcast(parseCidr('10.0.0.1/32'))).toBe('10.0.0.1');
  });
});

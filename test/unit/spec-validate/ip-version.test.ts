// ipVersion (src/spec/addresses.ts) answers as node:net's isIP, which the spec's checks used
// before (it loaded node:net and the streams into every fresh `up`): the same answer for each
// text here, valid and not.
import { isIP } from 'node:net';
import { describe, expect, test } from 'vitest';
import { ipVersion } from '../../../src/spec/addresses.js';

const TEXTS = [
  // IPv4
  '0.0.0.0', '127.0.0.1', '255.255.255.255', '10.1.2.3', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04',
  '1..2.3', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '1.2.3.4/24', '', '.', 'a.b.c.d', '1e1.1.1.1', '0x1.1.1.1',
  // IPv6
  '::', '::1', '1::', 'fe80::1', 'FE80::ABCD', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', ':::',
  ':1::', '1:', ':1', '12345::', 'g::1', '::ffff:10.0.0.1', '::ffff:1.2.3', '::ffff:256.0.0.1', '::ffff:01.0.0.1',
  '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%eth 0',
  'fe80::1%en0.1:x-y', '1.2.3.4%eth0', '[::1]', '::1/128', 'localhost', 'host-gateway',
];

describe('ipVersion', () => {
  test.each(TEXTS)('%j as node:net isIP says', (text) => {
    expect(ipVersion(text)).toBe(isIP(text));
  });
});

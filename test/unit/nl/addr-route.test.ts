import { describe, expect, it } from 'vitest';
import {
  AttrSet, decodeAddress, decodeIfAddr, decodeRoute, decodeRtMsg, encodeAttrs, encodeAddrRequest, encodeIfAddr,
  encodeRouteRequest, encodeRtMsg, parseCidr, stringAttr, AF_INET, AF_INET6, IFADDRMSG_LEN, IFA_ADDRESS,
  IFA_BROADCAST, IFA_LABEL, IFA_LOCAL, RTMSG_LEN, RTA_DST, RTA_GATEWAY, RTA_OIF, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL, bytesAttr, u32Attr,
} from '../../../src/network/nl/index.js';

describe('address messages', () => {
  it('round-trips struct ifaddrmsg', () => {
    const i = { family: AF_INET, prefixLength: 24, flags: 0x80, scope: 0, index: 3 };
    expect(encodeIfAddr(i).length).toBe(IFADDRMSG_LEN);
    expect(decodeIfAddr(encodeIfAddr(i))).toEqual(i);
  });

  it('encodes `ip addr add 10.1.0.2/24 brd + dev 5` with local, address and broadcast', () => {
    const body = encodeAddrRequest(5, parseCidr('10.1.0.2/24'));
    expect(decodeIfAddr(body)).toEqual({ family: AF_INET, prefixLength: 24, flags: 0, scope: 0, index: 5 });
    const a = new AttrSet(body.subarray(IFADDRMSG_LEN));
    expect(a.bytes(IFA_LOCAL)!.toString('hex')).toBe('0a010002');
    expect(a.bytes(IFA_ADDRESS)!.toString('hex')).toBe('0a010002');
    expect(a.bytes(IFA_BROADCAST)!.toString('hex')).toBe('0a0100ff');
  });

  it('gives IPv6 and /31 addresses no broadcast', () => {
    for (const cidr of ['fd00::2/64', '10.0.0.0/31']) {
      const a = new AttrSet(encodeAddrRequest(1, parseCidr(cidr)).subarray(IFADDRMSG_LEN));
      expect(a.has(IFA_BROADCAST)).toBe(false);
    }
    expect(decodeIfAddr(encodeAddrRequest(1, parseCidr('fd00::2/64'))).family).toBe(AF_INET6);
  });

  it('decodes an address reply', () => {
    const body = Buffer.concat([
      encodeIfAddr({ family: AF_INET, prefixLength: 16, scope: 0, index: 2 }),
      encodeAttrs([
        bytesAttr(IFA_ADDRESS, Buffer.from([172, 18, 0, 3])),
        bytesAttr(IFA_LOCAL, Buffer.from([172, 18, 0, 3])),
        bytesAttr(IFA_BROADCAST, Buffer.from([172, 18, 255, 255])),
        stringAttr(IFA_LABEL, 'eth0'),
      ]),
    ]);
    expect(decodeAddress(body)).toEqual({
      index: 2, family: AF_INET, address: '172.18.0.3', prefixLength: 16, cidr: '172.18.0.3/16', scope: 0,
      broadcast: '172.18.255.255', label: 'eth0',
    });
  });
});

describe('route messages', () => {
  it('round-trips struct rtmsg', () => {
    const r = {
      family: AF_INET, dstLength: 24, srcLength: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0,
    };
    expect(encodeRtMsg(r).length).toBe(RTMSG_LEN);
    expect(decodeRtMsg(encodeRtMsg(r))).toEqual(r);
  });

  it('encodes `ip route add default via 10.1.0.1` in the main table', () => {
    const body = encodeRouteRequest({ gateway: '10.1.0.1' });
    expect(decodeRtMsg(body)).toMatchObject({
      family: AF_INET,
      dstLength: 0,
      table: RT_TABLE_MAIN,
      protocol: RTPROT_BOOT,
      scope: RT_SCOPE_UNIVERSE,
      type: RTN_UNICAST,
    });
    const a = new AttrSet(body.subarray(RTMSG_LEN));
    expect(a.bytes(RTA_GATEWAY)!.toString('hex')).toBe('0a010001');
    expect(a.has(RTA_DST)).toBe(false);
    expect(decodeRoute(body)).toMatchObject({ dst: 'default', gateway: '10.1.0.1', table: RT_TABLE_MAIN });
  });

  it('gives a route without gateway link scope and keeps dst and dev', () => {
    const body = encodeRouteRequest({ dst: parseCidr('fd00:1::/64'), oif: 4 });
    expect(decodeRtMsg(body)).toMatchObject({ family: AF_INET6, dstLength: 64, scope: RT_SCOPE_LINK });
    expect(decodeRoute(body)).toMatchObject({ dst: 'fd00:1::/64', oif: 4 });
  });

  it('decodes a kernel route reply', () => {
    const kernelRoute = { table: RT_TABLE_MAIN, protocol: RTPROT_KERNEL, scope: RT_SCOPE_LINK, type: RTN_UNICAST };
    const body = Buffer.concat([
      encodeRtMsg({ family: AF_INET, dstLength: 24, ...kernelRoute }),
      encodeAttrs([bytesAttr(RTA_DST, Buffer.from([10, 1, 0, 0])), u32Attr(RTA_OIF, 3)]),
    ]);
    expect(decodeRoute(body)).toEqual({
      family: AF_INET, dst: '10.1.0.0/24', oif: 3, ...kernelRoute,
    });
  });
});

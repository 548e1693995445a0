import { describe, expect, it } from 'vitest';
import {
  AttrSet, decodeIfInfo, decodeLink, decodeLinkGroup, encodeAttrs, encodeLinkDumpWithoutStats, IFLA_EXT_MASK, IFLA_GROUP, RTEXT_FILTER_SKIP_STATS, encodeIfInfo, encodeLinkRequest, nestedAttr, stringAttr,
  u32Attr, u8Attr, bytesAttr, vethPeerData, IFF_UP, IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA,
  IFLA_INFO_KIND, IFLA_LINK, IFLA_LINK_NETNSID, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD,
  IFLA_OPERSTATE, VETH_INFO_PEER,
} from '../../../src/network/nl/index.js';

describe('ifinfomsg and link requests', () => {
  it('round-trips struct ifinfomsg', () => {
    const i = { family: 0, type: 1, index: 42, flags: IFF_UP, change: IFF_UP };
    const b = encodeIfInfo(i);
    expect(b.length).toBe(IFINFOMSG_LEN);
    expect(decodeIfInfo(b)).toEqual(i);
  });

  it('encodes `ip link add br0 type bridge` byte for byte', () => {
    const body = encodeLinkRequest({ name: 'br0', kind: 'bridge' });
    expect(body.toString('hex')).toBe(
      '00'.repeat(16) + // ifinfomsg: all zero
        '0800' + '0300' + '62723000' + // IFLA_IFNAME "br0\0"
        '1000' + '1200' + // IFLA_LINKINFO, 16 bytes: header and the padded kind
        '0b00' + '0100' + '62726964676500' + '00', // IFLA_INFO_KIND "bridge\0" + 1 pad
    );
  });

  it('nests the veth peer as an ifinfomsg with its own name and netns fd', () => {
    const body = encodeLinkRequest({
      name: 'stkv1a2b3c4d',
      kind: 'veth',
      mtu: 1400,
      master: 7,
      flags: IFF_UP,
      change: IFF_UP,
      data: vethPeerData({ name: 'eth0', netnsFd: 23, mtu: 1400 }),
    });
    expect(decodeIfInfo(body)).toMatchObject({ index: 0, flags: IFF_UP, change: IFF_UP });
    const a = new AttrSet(body.subarray(IFINFOMSG_LEN));
    expect(a.string(IFLA_IFNAME)).toBe('stkv1a2b3c4d');
    expect(a.u32(IFLA_MTU)).toBe(1400);
    expect(a.u32(IFLA_MASTER)).toBe(7);
    const info = a.nested(IFLA_LINKINFO)!;
    expect(info.string(IFLA_INFO_KIND)).toBe('veth');
    const peer = info.nested(IFLA_INFO_DATA)!.bytes(VETH_INFO_PEER)!;
    expect(decodeIfInfo(peer)).toMatchObject({ index: 0, flags: 0 });
    const pa = new AttrSet(peer.subarray(IFINFOMSG_LEN));
    expect(pa.string(IFLA_IFNAME)).toBe('eth0');
    expect(pa.u32(IFLA_NET_NS_FD)).toBe(23);
    expect(pa.u32(IFLA_MTU)).toBe(1400);
    expect(pa.has(IFLA_LINKINFO)).toBe(false);
  });

  it('addresses a link by index with no name, and releases a master with 0', () => {
    const body = encodeLinkRequest({ index: 12, master: 0 });
    expect(decodeIfInfo(body).index).toBe(12);
    const a = new AttrSet(body.subarray(IFINFOMSG_LEN));
    expect(a.has(IFLA_IFNAME)).toBe(false);
    expect(a.u32(IFLA_MASTER)).toBe(0);
  });
});

describe('link replies', () => {
  it('decodes what `ip -d link show` prints of a veth enslaved to a bridge', () => {
    const body = Buffer.concat([
      encodeIfInfo({ type: 1, index: 9, flags: IFF_UP | 0x1002 }),
      encodeAttrs([
        stringAttr(IFLA_IFNAME, 'stkv00ff'),
        u32Attr(IFLA_MTU, 1500),
        u32Attr(IFLA_MASTER, 4),
        u8Attr(IFLA_OPERSTATE, 6),
        u32Attr(IFLA_LINK, 2),
        u32Attr(IFLA_LINK_NETNSID, 0),
        bytesAttr(IFLA_ADDRESS, Buffer.from('02a0b1c2d3e4', 'hex')),
        nestedAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'veth')]),
      ]),
    ]);
    expect(decodeLink(body)).toEqual({
      index: 9,
      name: 'stkv00ff',
      flags: IFF_UP | 0x1002,
      up: true,
      operstate: 6,
      mtu: 1500,
      master: 4,
      kind: 'veth',
      mac: '02:a0:b1:c2:d3:e4',
      peerIndex: 2,
      peerNetnsId: 0,
    });
  });

  it('leaves out what the kernel did not say', () => {
    const body = Buffer.concat([encodeIfInfo({ index: 1, flags: 0 }), encodeAttrs([stringAttr(IFLA_IFNAME, 'lo')])]);
    expect(decodeLink(body)).toEqual({ index: 1, name: 'lo', flags: 0, up: false });
  });

  it('reads only the name, the group and the index of a link, stepping over the rest (linkDelMany)', () => {
    const body = Buffer.concat([
      encodeIfInfo({ type: 1, index: 9, flags: IFF_UP }),
      encodeAttrs([
        u32Attr(IFLA_MTU, 1500),
        nestedAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'veth')]),
        stringAttr(IFLA_IFNAME, 'stkv00ff'),
        bytesAttr(IFLA_ADDRESS, Buffer.from('02a0b1c2d3e4', 'hex')),
        u32Attr(IFLA_GROUP, 0x7fff0001),
        u32Attr(IFLA_MASTER, 4),
      ]),
    ]);
    expect(decodeLinkGroup(body)).toEqual({ name: 'stkv00ff', group: 0x7fff0001, index: 9 });
    // No group attribute: the default group. A name without its NUL (4 bytes: no padding after
    // it) ends at its attribute's end, not at the next attribute's first zero byte.
    const bare = Buffer.concat([encodeIfInfo({ index: 1 }), encodeAttrs([bytesAttr(IFLA_IFNAME, Buffer.from('eth0')), u32Attr(IFLA_MTU, 65536)])]);
    expect(decodeLinkGroup(bare)).toEqual({ name: 'eth0', group: 0, index: 1 });
    // An attribute that claims more than the message holds is refused, with the offset AttrSet
    // would name; so is a message shorter than its ifinfomsg.
    const cut = body.subarray(0, body.length - 2);
    expect(() => decodeLinkGroup(cut)).toThrow(/malformed netlink attribute/);
    expect(() => new AttrSet(cut.subarray(IFINFOMSG_LEN))).toThrow(thrown(() => decodeLinkGroup(cut)));
    expect(() => decodeLinkGroup(body.subarray(0, 10))).toThrow(/truncated ifinfomsg/);
  });
});

/** The message `f` throws ('no error' when it returns). */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('link dumps', () => {
  it('asks a dump to leave the per-family counters out (IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS)', () => {
    const request = encodeLinkDumpWithoutStats();
    expect(decodeIfInfo(request)).toEqual(decodeIfInfo(encodeIfInfo({})));
    const attrs = new AttrSet(request.subarray(IFINFOMSG_LEN));
    expect(attrs.all.map((a) => a.type)).toEqual([IFLA_EXT_MASK]);
    expect(attrs.u32(IFLA_EXT_MASK)).toBe(RTEXT_FILTER_SKIP_STATS);
    expect(RTEXT_FILTER_SKIP_STATS).toBe(8); // include/uapi/linux/rtnetlink.h
  });
});

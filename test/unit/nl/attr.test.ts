import { describe, expect, it } from 'vitest';
import {
  AttrSet, encodeAttrs, nestedAttr, stringAttr, u32Attr, u8Attr, bytesAttr, NLA_F_NESTED,
} from '../../../src/network/nl/index.js';

describe('rtattr codec', () => {
  it('lays out a string attribute as len, type, value, NUL and padding', () => {
    // "br0" + NUL = 4 bytes of payload, 8 in all, already aligned; "eth10" needs 2 bytes of pad.
    expect(encodeAttrs([stringAttr(3, 'br0')]).toString('hex')).toBe('0800030062723000');
    const b = encodeAttrs([stringAttr(3, 'eth10')]);
    expect(b.length).toBe(12);
    expect(b.readUInt16LE(0)).toBe(10);
    expect(b.subarray(4, 10).toString('latin1')).toBe('eth10\0');
    expect(b.subarray(10)).toEqual(Buffer.alloc(2));
  });

  it('round-trips nested attributes at every level', () => {
    const buf = encodeAttrs([
      stringAttr(3, 'stkv1a2b3c4d'),
      u32Attr(4, 1400),
      nestedAttr(18, [stringAttr(1, 'veth'), nestedAttr(2, [bytesAttr(1, Buffer.from([1, 2, 3]))])]),
      u8Attr(16, 6),
    ]);
    const a = new AttrSet(buf);
    expect(a.string(3)).toBe('stkv1a2b3c4d');
    expect(a.u32(4)).toBe(1400);
    expect(a.u8(16)).toBe(6);
    const info = a.nested(18)!;
    expect(info.string(1)).toBe('veth');
    expect(info.nested(2)!.bytes(1)).toEqual(Buffer.from([1, 2, 3]));
    expect(a.all.map((x) => x.type)).toEqual([3, 4, 18, 16]);
    expect(a.has(99)).toBe(false);
    expect(a.u32(99)).toBeUndefined();
  });

  it('sets NLA_F_NESTED on request and masks it off when decoding', () => {
    const buf = encodeAttrs([nestedAttr(18, [u32Attr(1, 7)], true)]);
    expect(buf.readUInt16LE(2)).toBe(18 | NLA_F_NESTED);
    expect(new AttrSet(buf).nested(18)!.u32(1)).toBe(7);
  });

  it('computes the length of a nest from its padded children', () => {
    const buf = encodeAttrs([nestedAttr(1, [stringAttr(1, 'a'), stringAttr(2, 'bcdef')])]);
    // child 1: 4 + 2 -> 8; child 2: 4 + 6 -> 12 (padded); nest header 4.
    expect(buf.readUInt16LE(0)).toBe(4 + 8 + 12);
    expect(buf.length).toBe(24);
  });

  it('rejects an attribute whose length runs past the buffer', () => {
    const buf = encodeAttrs([u32Attr(1, 1)]);
    buf.writeUInt16LE(40, 0);
    expect(() => new AttrSet(buf)).toThrow(/malformed netlink attribute at byte 0/);
  });
});

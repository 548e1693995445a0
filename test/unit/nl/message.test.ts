import { describe, expect, it } from 'vitest';
import {
  decodeAck, decodeMessages, encodeAck, encodeAttrs, encodeMessage, stringAttr, NLM_F_ACK, NLM_F_ACK_TLVS,
  NLM_F_CAPPED, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MSG, RTM_NEWLINK,
  messageTypeName,
} from '../../../src/network/nl/index.js';

describe('nlmsghdr codec', () => {
  it('writes len, type, flags, seq and pid in host order', () => {
    const header = { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304, pid: 9 };
    const m = encodeMessage(header, Buffer.from([0xaa, 0xbb]));
    expect(m.length).toBe(20); // 16 + 2, padded to 4
    expect(m.toString('hex')).toBe('12000000' + '1000' + '0500' + '04030201' + '09000000' + 'aabb0000');
  });

  it('splits a multi-part datagram into its messages, honouring padding', () => {
    const a = encodeMessage({ type: RTM_NEWLINK, flags: NLM_F_MULTI, seq: 7 }, Buffer.from('abcde'));
    const b = encodeMessage({ type: RTM_NEWLINK, flags: NLM_F_MULTI, seq: 7 }, Buffer.from('xy'));
    const done = encodeMessage({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq: 7 }, Buffer.alloc(4));
    const msgs = decodeMessages(Buffer.concat([a, b, done]));
    expect(msgs.map((m) => [m.header.type, m.header.seq, m.body.toString('latin1').replace(/\0/g, '')])).toEqual([
      [RTM_NEWLINK, 7, 'abcde'],
      [RTM_NEWLINK, 7, 'xy'],
      [NLMSG_DONE, 7, ''],
    ]);
    expect(msgs[0]!.body.length).toBe(5);
  });

  it('rejects a header whose length runs past the datagram', () => {
    const m = encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 1 }, Buffer.alloc(8));
    m.writeUInt32LE(100, 0);
    expect(() => decodeMessages(m)).toThrow(/malformed netlink message/);
  });

  it('names message types for error messages', () => {
    expect(messageTypeName(RTM_NEWLINK)).toBe('RTM_NEWLINK');
    expect(messageTypeName(999)).toBe('NLMSG(999)');
  });
});

describe('nlmsgerr codec', () => {
  const request = encodeMessage({ type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 42 }, Buffer.alloc(16));

  it('reads an ACK as errno 0 and names the request it answers', () => {
    const ack = decodeAck(encodeAck(0, request), NLM_F_CAPPED);
    expect(ack.errno).toBe(0);
    expect(ack.request.seq).toBe(42);
    expect(ack.request.type).toBe(RTM_NEWLINK);
    expect(ack.message).toBeUndefined();
  });

  it('reads -errno and the extended-ACK message of a capped error', () => {
    const tlvs = encodeAttrs([stringAttr(NLMSGERR_ATTR_MSG, 'Unknown device type')]);
    const ack = decodeAck(encodeAck(95, request, tlvs), NLM_F_CAPPED | NLM_F_ACK_TLVS);
    expect(ack).toMatchObject({ errno: 95, message: 'Unknown device type' });
  });

  it('skips the echoed request of an uncapped error to find the TLVs', () => {
    const tlvs = encodeAttrs([stringAttr(NLMSGERR_ATTR_MSG, 'File exists')]);
    const head = Buffer.alloc(4);
    head.writeInt32LE(-17, 0);
    const body = Buffer.concat([head, request, tlvs]); // the whole 32-byte request echoed
    const msg = decodeMessages(encodeMessage({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS, seq: 42 }, body))[0]!;
    expect(decodeAck(msg.body, msg.header.flags)).toMatchObject({ errno: 17, message: 'File exists' });
  });
});

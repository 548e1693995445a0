import { describe, expect, it } from 'vitest';
import { answer, failure, parseQuery, RCODE, TYPE } from '../../../src/network/dns/codec.js';
import { parseResolvConf } from '../../../src/network/dns/resolvconf.js';

/** A query as a resolver sends it: id, RD set, one question, optional EDNS OPT record. */
function query(name: string, type: number, id = 0x1234, edns = false): Buffer {
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
  const tail = Buffer.from([0, type >> 8, type & 0xff, 0, 1]);
  const opt = edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, ...labels, tail, opt]);
}

describe('dns codec', () => {
  it('reads the question of a query, lower-cased, ignoring EDNS', () => {
    expect(parseQuery(query('DB.Example', TYPE.A, 0xbeef, true))).toEqual({
      id: 0xbeef,
      opcode: 0,
      rd: true,
      name: 'db.example',
      type: TYPE.A,
      qclass: 1,
      questionEnd: 12 + 1 + 2 + 1 + 7 + 1 + 4,
    });
  });

  it('rejects responses, truncated messages and compressed questions', () => {
    const response = query('db', TYPE.A);
    response[2] = 0x81;
    expect(parseQuery(response)).toBeUndefined();
    expect(parseQuery(query('db', TYPE.A).subarray(0, 16))).toBeUndefined();
    const compressed = Buffer.concat([query('db', TYPE.A).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(parseQuery(compressed)).toBeUndefined();
  });

  it('answers with A records that point at the question', () => {
    const msg = query('db', TYPE.A, 7);
    const out = answer(msg, parseQuery(msg)!, ['10.209.0.3'], 10);
    expect(out.toString('hex')).toBe(
      [
        '0007',
        '8580',
        '0001',
        '0001',
        '0000',
        '0000', // id, QR AA RD RA, 1 question, 1 answer
        '026462',
        '00',
        '0001',
        '0001', // db IN A
        'c00c',
        '0001',
        '0001',
        '0000000a',
        '0004',
        '0ad10003', // pointer, A, IN, ttl 10, 10.209.0.3
      ].join(''),
    );
  });

  it('answers NODATA for other types of a known name', () => {
    const msg = query('db', TYPE.AAAA);
    const out = answer(msg, parseQuery(msg)!, [], 10);
    expect(out.readUInt16BE(6)).toBe(0);
    expect(out.readUInt16BE(2) & 0xf).toBe(RCODE.NOERROR);
  });

  it('builds errors that keep the id and the question', () => {
    const msg = query('nothing.here', TYPE.A, 99);
    const out = failure(msg, parseQuery(msg), RCODE.NXDOMAIN);
    expect(out.readUInt16BE(0)).toBe(99);
    expect(out.readUInt16BE(2) & 0xf).toBe(RCODE.NXDOMAIN);
    expect(out.subarray(12)).toEqual(msg.subarray(12));
    expect(failure(Buffer.from([1, 2, 3]), undefined, RCODE.FORMERR).toString('hex')).toBe('010280010000000000000000');
  });
});

describe('parseResolvConf', () => {
  it('reads nameservers in order, without scope ids, and the search list', () => {
    const text =
      '# systemd\nnameserver 127.0.0.53\nnameserver fe80::1%eth0 ; comment\noptions edns0\nsearch corp.example lab\n';
    expect(parseResolvConf(text)).toEqual({ nameservers: ['127.0.0.53', 'fe80::1'], search: ['corp.example', 'lab'] });
  });

  it('falls back to the local resolver as glibc does', () => {
    expect(parseResolvConf('').nameservers).toEqual(['127.0.0.1']);
  });
});

// `stack attach --detach-keys`: docker's key list, and the matcher that holds back what may begin
// the sequence and passes it on once it turns out not to.
import { expect, test } from 'vitest';
import { DetachMatcher, parseDetachKeys } from '../../../src/runtime/attach.js';

test('parses docker key lists: characters and ctrl-X', () => {
  expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual(Buffer.from([0x10, 0x11]));
  expect(parseDetachKeys('ctrl-a,a,ctrl-@,ctrl-[')).toEqual(Buffer.from([0x01, 0x61, 0x00, 0x1b]));
  expect(parseDetachKeys('ctrl-P')).toEqual(Buffer.from([0x10]));
  expect(parseDetachKeys('é')).toEqual(Buffer.from([0xc3])); // a character's first byte, as docker's
  for (const bad of ['', 'ctrl-', 'ctrl-pp', 'ab', 'ctrl-1', 'p,,q']) expect(parseDetachKeys(bad), bad).toBeUndefined();
});

test('passes everything but the sequence, across chunks, and gives back a false start', () => {
  const m = new DetachMatcher(Buffer.from([0x10, 0x11]));
  expect(m.push(Buffer.from('ab\x10'))).toEqual({ pass: Buffer.from('ab'), detach: false });
  expect(m.push(Buffer.from('c'))).toEqual({ pass: Buffer.from('\x10c'), detach: false });
  expect(m.push(Buffer.from('\x10\x10'))).toEqual({ pass: Buffer.from('\x10'), detach: false });
  expect(m.push(Buffer.from('\x11rest'))).toEqual({ pass: Buffer.from(''), detach: true });
  // A sequence whose first key repeats: a false start gives back only its first byte.
  const aab = (typed: string) => new DetachMatcher(Buffer.from('aab')).push(Buffer.from(typed));
  expect(aab('aaab')).toEqual({ pass: Buffer.from('a'), detach: true });
  expect(aab('aaaab')).toEqual({ pass: Buffer.from('aa'), detach: true });
  expect(aab('abaab')).toEqual({ pass: Buffer.from('ab'), detach: true });
  expect(aab('abab')).toEqual({ pass: Buffer.from('abab'), detach: false });
  const one = new DetachMatcher(Buffer.from([0x1d]));
  expect(one.push(Buffer.from('x\x1dy'))).toEqual({ pass: Buffer.from('x'), detach: true });
});

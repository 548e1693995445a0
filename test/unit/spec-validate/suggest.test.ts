import { expect, test } from 'vitest';
import { editDistance, suggest } from '../../../src/spec/suggest.js';

test.each([
  ['imagee', 'image'],
  ['enviroment', 'environment'],
  ['port', 'ports'],
  ['depend_on', 'depends_on'],
  ['helthcheck', 'healthcheck'],
  ['comand', 'command'],
  ['stop-signal', 'stop_signal'],
  ['ENVIRONMENT', 'environment'],
])('%s → did you mean %s', (typo, key) => {
  expect(suggest(typo, ['image', 'environment', 'ports', 'depends_on', 'healthcheck', 'command', 'stop_signal'])).toBe(key);
});

test('nothing close enough gives no suggestion', () => {
  expect(suggest('zzzz', ['image', 'ports'])).toBeUndefined();
  expect(suggest('x', [])).toBeUndefined();
});

test('edit distance counts a swap of neighbours as one edit', () => {
  expect(editDistance('imgae', 'image')).toBe(1);
  expect(editDistance('kitten', 'sitting')).toBe(3);
  expect(editDistance('', 'abc')).toBe(3);
});

// docs/spec-reference.md is generated from the key catalogue: this fails when it is stale.
import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { keyReference } from '../../src/spec/reference.js';

it('docs/spec-reference.md matches the key catalogue (run `npm run docs`)', () => {
  const text = readFileSync(new URL('../../docs/spec-reference.md', import.meta.url), 'utf8');
  expect(text.slice(text.indexOf('\n\n', text.indexOf('do not edit')) + 2)).toBe(keyReference());
});

// Validation and normalization never throw, whatever the document: a deterministic mutation
// of every corpus file (values swapped for values of other kinds) must only give diagnostics.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { normalize } from '../../../src/spec/normalize.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

const corpus = resolve(import.meta.dirname, '../../fixtures/corpus');
const SWAPS: unknown[] = [null, 0, -1, 1.5, '', 'x', '80:80', true, 'maybe', [], {}, ['a'], { a: 1 }, '1m', 'a b "c', [null], { 'x-a': 1 }, 70000, '/abs', './rel', ['CMD'], ['NONE'], 'on-failure:x'];

function mutator(seed: number) {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const mutate = (v: unknown): unknown => {
    if (next() < 0.08) return SWAPS[Math.floor(next() * SWAPS.length)];
    if (Array.isArray(v)) return v.map(mutate);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mutate(x)]));
    return v;
  };
  return mutate;
}

test('mutated corpus documents give diagnostics, never exceptions', () => {
  const docs = ['awesome-compose', 'compose-go', 'compose-spec']
    .flatMap((d) => readdirSync(join(corpus, d)).map((f) => join(corpus, d, f)))
    .map((f) => parse(readFileSync(f, 'utf8'), { merge: true, logLevel: 'silent' }) as unknown)
    .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object' && !Array.isArray(d));
  const mutate = mutator(42);
  let normalized = 0;
  for (let round = 0; round < 2; round++) {
    for (const doc of docs) {
      const mutated = Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, mutate(v)]));
      const raw = { ...rawSpec('{}'), doc: mutated };
      const errors = validate(raw).filter((d) => d.severity === 'error');
      for (const d of errors) expect(d.message + (d.expected ?? '')).not.toMatch(/Invalid input|\u0000/);
      const broken = new Set(errors.flatMap((d) => (d.path?.[0] === 'services' && typeof d.path[1] === 'string' ? [d.path[1]] : [])));
      if (errors.every((d) => d.path?.[0] === 'services' && typeof d.path[1] === 'string')) {
        normalize(raw, { skip: broken });
        normalized++;
      }
    }
  }
  expect(normalized).toBeGreaterThan(docs.length);
});

test('a service that is null is an error; the other services are still normalized', () => {
  const raw = rawSpec('services:\n  a:\n  b:\n    ports: ["bad"]\n');
  const errors = validate(raw);
  expect(errors.map((d) => [d.code, d.path?.join('.')])).toEqual([['BAD_TYPE', 'services.a']]);
  const { diagnostics } = normalize(raw, { skip: new Set(['a']) });
  expect(diagnostics.map((d) => [d.code, d.path?.join('.')])).toEqual([['BAD_PORT', 'services.b.ports.0']]);
});

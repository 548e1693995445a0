// The check generated from the zod schema (src/spec/accepts.generated.ts) against validation
// itself: loading a spec skips zod when the check accepts, so checkStructure must say what
// validate says for every document the loader can build: the corpus as written, and mutated
// (values of other kinds, numbers zod refuses, renamed keys, unknown and x- keys at any depth,
// the top level included).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { z } from '../../../src/zod.js';
import { specSchema } from '../../../src/spec/schema.js';
import acceptsSpec from '../../../src/spec/accepts.generated.js';
import { checkStructure } from '../../../src/spec/structure.js';
import { validate } from '../../../src/spec/validate.js';
import { specAcceptsSource } from '../../../scripts/spec-accepts.mjs';
import { rawSpec } from './raw-spec.js';

const checkedIn = resolve(import.meta.dirname, '../../../src/spec/accepts.generated.ts');
const corpus = resolve(import.meta.dirname, '../../fixtures/corpus');

test('src/spec/accepts.generated.ts is the one the zod schema generates (run `npm run schema` when this fails)', () => {
  expect(readFileSync(checkedIn, 'utf8')).toBe(specAcceptsSource(z, specSchema));
});

const docs = ['awesome-compose', 'compose-go', 'compose-spec']
  .flatMap((d) => readdirSync(join(corpus, d)).map((f) => join(corpus, d, f)))
  .map((f) => parse(readFileSync(f, 'utf8'), { merge: true, logLevel: 'silent' }) as unknown)
  .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object' && !Array.isArray(d));

const SWAPS: unknown[] = [
  null, 0, -1, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 53, 1e21, 65535, 65536, '', 'x', '80:80', '8000-8010', ' 12 ', '1.5m',
  '10 MiB', true, 'yes', 'maybe', [], {}, ['a'], [1], { a: 1 }, { 'x-a': 1 }, { target: 80 }, { name: 'n' }, { path: 'p' },
  '/abs', './rel', ['CMD'], ['NONE'], 'tcp', 'udp', 'sctp', 'bridge', 'local', 'a b',
];

/** A deterministic mutation: values swapped, and keys (unknown, x- or known) added to mappings. */
function mutator(seed: number) {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const mutate = (v: unknown): unknown => {
    if (next() < 0.05) return pick(SWAPS);
    if (Array.isArray(v)) return v.map(mutate);
    if (v && typeof v === 'object') {
      // a key renamed now and then: to one that is no valid name, or no key of any level
      const out = Object.fromEntries(Object.entries(v).map(([k, x]) => [next() < 0.02 ? pick(['bad key', 'caf\u00e9', '.', 'memory.max', 'Bogus']) : k, mutate(x)]));
      const r = next();
      if (r < 0.04) out['x-extra'] = pick(SWAPS);
      else if (r < 0.06) out.bogus = 1;
      else if (r < 0.08) out[pick(['name', 'target', 'external', 'driver', 'condition', 'version'])] = pick(SWAPS);
      return out;
    }
    return v;
  };
  return mutate;
}

test('checkStructure says what validate says, for the corpus as written and mutated', async () => {
  expect(docs.length).toBeGreaterThan(150);
  const mutate = mutator(7);
  let fast = 0;
  let slow = 0;
  for (let round = 0; round < 6; round++) {
    for (const doc of docs) {
      const input = round === 0 ? doc : Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, mutate(v)]));
      if (round > 0 && round % 2 === 0) input[round === 2 ? 'x-top' : 'bogus'] = { a: 1 };
      const raw = { ...rawSpec('{}'), doc: input };
      const expected = validate(raw);
      expect(await checkStructure(raw)).toEqual(expected);
      const { version: _version, ...rest } = input;
      if (acceptsSpec(rest)) fast++;
      else slow++;
    }
  }
  // both paths are taken, each many times (a check that refused everything would agree too)
  expect(fast).toBeGreaterThan(200);
  expect(slow).toBeGreaterThan(200);
});

test('the check accepts every corpus document validation finds nothing in (the fast path is not lost)', () => {
  let clean = 0;
  for (const doc of docs) {
    const { version: _version, ...rest } = doc;
    const raw = { ...rawSpec('{}'), doc: rest };
    if (Object.keys(rest).length === 0 || validate(raw).length > 0) continue;
    clean++;
    expect(acceptsSpec(rest), JSON.stringify(rest).slice(0, 200)).toBe(true);
  }
  expect(clean).toBeGreaterThan(50);
});

test('numbers zod refuses are refused: NaN and infinities anywhere, fractions and unsafe integers where whole numbers go', () => {
  const port = (target: unknown) => ({ services: { a: { image: 'x', ports: [{ target }] } } });
  const variable = (value: unknown) => ({ services: { a: { image: 'x', environment: { A: value } } } });
  const cpus = (value: unknown) => ({ services: { a: { image: 'x', deploy: { resources: { limits: { cpus: value } } } } } });
  type Spec = (value: unknown) => Record<string, unknown>;
  const cases: [unknown, Spec][] = [
    ...[NaN, Infinity, -Infinity, 1.5, 2 ** 53, -1, 65536].map((v): [unknown, Spec] => [v, port]),
    ...[NaN, Infinity, -Infinity].flatMap((v): [unknown, Spec][] => [[v, variable], [v, cpus]]),
  ];
  for (const good of [port(80), variable(1.5), cpus(0.5)]) expect(acceptsSpec(good)).toBe(true);
  for (const [bad, spec] of cases) {
    expect(acceptsSpec(spec(bad)), String(bad)).toBe(false);
    expect(validate({ ...rawSpec('{}'), doc: spec(bad) }).length, String(bad)).toBeGreaterThan(0);
  }
});

test('names that are no valid key of a mapping of names are refused', () => {
  for (const name of ['bad key', 'caf\u00e9', 'a/b', '']) {
    const doc = { services: { [name]: { image: 'x' } } };
    expect(acceptsSpec(doc), name).toBe(false);
    expect(validate({ ...rawSpec('{}'), doc }).length, name).toBeGreaterThan(0);
  }
});

test('x- keys are forgiven at the top and in a service; in a branch of a union the check refuses (validation decides)', async () => {
  const at = (doc: Record<string, unknown>) => ({ ...rawSpec('{}'), doc });
  const top = { 'x-common': { a: 1 }, services: { a: { image: 'x', 'x-note': 'n' } } };
  expect(acceptsSpec(top)).toBe(true);
  expect(await checkStructure(at(top))).toEqual([]);
  // `external:` is true/false or {name}: an x- key in the mapping fails the union as a whole
  const inUnion = { services: { a: { image: 'x' } }, networks: { n: { external: { name: 'n', 'x-a': 1 } } } };
  expect(acceptsSpec(inUnion)).toBe(false);
});

test('__proto__ names nothing: refused on both ways, where zod alone skipped it unchecked', async () => {
  for (const kind of ['services', 'networks', 'volumes']) {
    const rest = kind === 'services' ? '' : `${kind}:\n`;
    const raw = rawSpec(`services:\n  a:\n    image: x\n${rest}  __proto__:\n    ports: 7\n`);
    const found = await checkStructure(raw);
    expect(found).toEqual(validate(raw));
    expect(found.map((d) => [d.code, d.path?.join('.')]), kind).toEqual([['BAD_NAME', `${kind}.__proto__`]]);
  }
});

test('a top-level version: key warns and leaves the rest on the fast path', async () => {
  const raw = rawSpec('version: "3.8"\nservices:\n  a:\n    image: x\n');
  const found = await checkStructure(raw);
  expect(found).toEqual(validate(raw));
  expect(found.map((d) => [d.severity, d.code])).toEqual([['warning', 'IGNORED_KEY']]);
});

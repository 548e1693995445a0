import { describe, expect, test } from 'vitest';
import { toPlain } from '../../../src/spec/tree.js';
import { parseYaml } from '../../../src/spec/yaml.js';

const F = '/p/stack.yaml';

function one(text: string): { value: unknown; codes: string[] } {
  const { docs, diagnostics } = parseYaml(text, F);
  return { value: docs[0] ? toPlain(docs[0]) : undefined, codes: diagnostics.map((d) => d.code) };
}

describe('parseYaml', () => {
  test.each<[string, string, unknown]>([
    ['YAML 1.2 core: yes/on/no stay strings, 010 is decimal', 'a: yes\nb: on\nc: no\nd: 010\ne: 0o10\nf: ~\ng: 1.5\nh: true', { a: 'yes', b: 'on', c: 'no', d: 10, e: 8, f: null, g: 1.5, h: true }],
    ['explicit keys win over merged ones', 'x: &x {a: 1, b: 1}\ny: {<<: *x, b: 2}', { x: { a: 1, b: 1 }, y: { a: 1, b: 2 } }],
    ['the first merge source wins', 'p: &p {a: p}\nq: &q {a: q, b: q}\nr: {<<: [*p, *q]}', { p: { a: 'p' }, q: { a: 'q', b: 'q' }, r: { a: 'p', b: 'q' } }],
    ['a quoted "<<" is an ordinary key', 'a: {"<<": 1}', { a: { '<<': 1 } }],
    ['number keys become strings', '8080: x', { '8080': 'x' }],
    ['aliases of sequences and scalars', 'a: &l [1, 2]\nb: *l\nc: &s hi\nd: *s', { a: [1, 2], b: [1, 2], c: 'hi', d: 'hi' }],
    ['an empty value is null', 'a:\nb: [~, null]', { a: null, b: [null, null] }],
    ['tags !reset and !override are kept off the value', 'a: !reset []\nb: !override {x: 1}', { a: [], b: { x: 1 } }],
  ])('%s', (_name, text, expected) => {
    expect(one(text)).toEqual({ value: expected, codes: [] });
  });

  test('merge tags are recorded on the nodes', () => {
    const { docs } = parseYaml('a: !reset\nb: !override [1]\nc: 1\n', F);
    const m = docs[0]!;
    if (m.kind !== 'map') throw new Error('map expected');
    expect([...m.entries].map(([k, v]) => [k, v.tag])).toEqual([
      ['a', 'reset'],
      ['b', 'override'],
      ['c', undefined],
    ]);
  });

  test('an alias value is placed where the alias is written, its inside where the anchor is', () => {
    const { docs } = parseYaml('x: &x\n  k: v\ny: *x\n', F);
    const m = docs[0]!;
    if (m.kind !== 'map') throw new Error('map expected');
    const y = m.entries.get('y')!;
    expect(y.loc).toEqual({ file: F, line: 3, col: 4 });
    expect(y.kind === 'map' && y.entries.get('k')!.loc).toEqual({ file: F, line: 2, col: 6 });
  });

  test('several documents', () => {
    const { docs } = parseYaml('a: 1\n---\nb: 2\n---\n', F);
    expect(docs.map((d) => (d ? toPlain(d) : d))).toEqual([{ a: 1 }, { b: 2 }, undefined]);
  });

  test.each([
    ['a: 1\na: 2', ['DUPLICATE_KEY']],
    ['a: [1', ['YAML_SYNTAX']],
    ['? [a]\n: b', ['YAML_SYNTAX']],
    ['a: *missing', ['YAML_SYNTAX']],
    ['a: !custom 1', ['YAML_TAG']],
    ['a: "unterminated', ['YAML_SYNTAX']],
  ])('%j → %j', (text, codes) => {
    expect(parseYaml(text, F).diagnostics.map((d) => d.code)).toEqual(codes);
  });

  test('a duplicate key is named at its second place', () => {
    expect(parseYaml('services:\n  web: {}\n  web: {}\n', F).diagnostics).toEqual([
      {
        severity: 'error',
        code: 'DUPLICATE_KEY',
        location: { file: F, line: 3, col: 3 },
        message: 'duplicate key web: a key may appear only once in a mapping',
      },
    ]);
  });

  test('alias bombs are refused instead of expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const { diagnostics } = parseYaml(lines.join('\n'), F);
    expect(diagnostics.some((d) => d.code === 'YAML_SYNTAX' && /too many values produced by aliases/.test(d.message))).toBe(true);
  });
});

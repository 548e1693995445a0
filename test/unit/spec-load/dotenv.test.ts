import { describe, expect, test } from 'vitest';
import { SpecError } from '../../../src/spec/diagnostics.js';
import { parseDotenv } from '../../../src/spec/dotenv.js';

const host: Record<string, string> = { HOST: 'h', SHADOW: 'from-host' };
const parse = (text: string): Record<string, string> => parseDotenv(text, '/p/.env', (k) => host[k]);

describe('parseDotenv', () => {
  test.each([
    ['A=1', { A: '1' }],
    ['export A=1', { A: '1' }],
    ['A: yaml-style', { A: 'yaml-style' }],
    ['  A = spaced  ', { A: 'spaced' }],
    ['A=', { A: '' }],
    ['# comment\n\nA=1 # trailing\nB=x#not-a-comment', { A: '1', B: 'x#not-a-comment' }],
    ["A='single $HOST \\n'", { A: 'single $HOST \\n' }],
    ["A='it\\'s'", { A: "it's" }],
    ['A="double $HOST\\n\\t\\"q\\" \\\\"', { A: 'double h\n\t"q" \\' }],
    ['A="\\$HOST is literal"', { A: '$HOST is literal' }],
    ['A="multi\nline"\nB=2', { A: 'multi\nline', B: '2' }],
    ['A="quoted" # comment', { A: 'quoted' }],
    ['A=${HOST}-$HOST', { A: 'h-h' }],
    ['A=1\nB=${A}2', { A: '1', B: '12' }],
    ['SHADOW=file\nB=$SHADOW', { SHADOW: 'file', B: 'from-host' }],
    ['A=${MISSING:-dflt}', { A: 'dflt' }],
    ['A=$$literal', { A: '$literal' }],
    ['HOST\nNOPE', { HOST: 'h' }],
    ['export HOST', { HOST: 'h' }],
    ['A.b-c[0]=ok', { 'A.b-c[0]': 'ok' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['\uFEFFA=1', { A: '1' }],
    ['A=url=http://x:1/?q=a', { A: 'url=http://x:1/?q=a' }],
  ])('%j', (text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  test('reports every bad line at once, with line and column', () => {
    let err: unknown;
    try {
      parse('OK=1\nBAD KEY=1\nA=${ x}\n=nokey\nB="unterminated\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const d = (err as SpecError).diagnostics;
    expect(d.map((x) => [x.location?.line, x.location?.col, x.code])).toEqual([
      [2, 1, 'ENV_FILE'],
      [3, 3, 'ENV_FILE'],
      [4, 1, 'ENV_FILE'],
      [5, 3, 'ENV_FILE'],
    ]);
    expect(d[0]!.message).toContain('unexpected character " " in variable name "BAD KEY"');
    expect(d[1]!.message).toContain('invalid interpolation');
    expect(d[3]!.message).toContain('unterminated quoted value');
    expect((err as SpecError).message).toContain('/p/.env:2:1');
  });
});

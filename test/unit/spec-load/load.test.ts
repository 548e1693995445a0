import { describe, expect, test } from 'vitest';
import { SpecError } from '../../../src/spec/diagnostics.js';
import { loadRaw } from '../../../src/spec/load.js';
import { UserError } from '../../../src/errors.js';
import { tree } from './tmp.js';

async function specError(p: Promise<unknown>): Promise<SpecError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SpecError);
  return e as SpecError;
}

describe('loadRaw on one file', () => {
  test('plain document, positions of values, anchors, merge keys, x- keys kept', async () => {
    const dir = tree({
      'stack.yaml': [
        'x-common: &common', //                    1
        '  restart: always', //                    2
        '  environment: { A: "1" }', //             3
        'services:', //                            4
        '  web:', //                               5
        '    <<: *common', //                      6
        '    command: ["serve", "--port", "80"]', // 7
        '    ports:', //                           8
        '      - "8080:80"', //                    9
        '    restart: "no"', //                    10
        '',
      ].join('\n'),
    });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({
      'x-common': { restart: 'always', environment: { A: '1' } },
      services: { web: { restart: 'no', environment: { A: '1' }, command: ['serve', '--port', '80'], ports: ['8080:80'] } },
    });
    const file = `${dir}/stack.yaml`;
    expect(raw.files).toEqual([file]);
    expect(raw.workingDir).toBe(dir);
    expect(raw.locate(['services', 'web', 'ports', 0])).toEqual({ file, line: 9, col: 9 });
    expect(raw.locate(['services', 'web', 'command', 2])).toEqual({ file, line: 7, col: 34 });
    expect(raw.locate(['services', 'web', 'restart'])).toEqual({ file, line: 10, col: 14 });
    // merged from the anchor: the place where the anchored value was written
    expect(raw.locate(['services', 'web', 'environment', 'A'])).toEqual({ file, line: 3, col: 21 });
    // not present: nearest ancestor
    expect(raw.locate(['services', 'web', 'nope', 'deeper'])).toEqual({ file, line: 6, col: 5 });
    expect(raw.locateKey(['services', 'web', 'ports'])).toEqual({ file, line: 8, col: 5 });
  });

  test('interpolation from the environment over .env, warnings for unset variables', async () => {
    const dir = tree({
      'compose.yaml': 'services:\n  web:\n    image: "img:${TAG}"\n    environment:\n      X: $FROM_ENV_FILE\n      Y: ${NOPE}\n      Z: $$HOME\n',
      '.env': 'TAG=from-file\nFROM_ENV_FILE=${TAG}-x\n',
    });
    const raw = await loadRaw({ cwd: dir, env: { TAG: 'from-env' } });
    expect(raw.doc).toEqual({ services: { web: { image: 'img:from-env', environment: { X: 'from-env-x', Y: '', Z: '$HOME' } } } });
    expect(raw.env.TAG).toBe('from-env');
    expect(raw.env.FROM_ENV_FILE).toBe('from-env-x');
    expect(raw.warnings.map((w) => [w.code, w.location?.line, w.location?.col, w.message])).toEqual([
      ['UNSET_VARIABLE', 6, 10, 'the variable NOPE is not set; using an empty string'],
    ]);
  });

  test('only values are interpolated: keys, numbers and booleans stay as written', async () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    labels:\n      ${K}: $K\n    init: true\n    pids_limit: 10\n    x-list: ["$K", "$$K"]\n',
    });
    const raw = await loadRaw({ cwd: dir, env: { K: 'v' } });
    expect(raw.doc).toEqual({ services: { s: { labels: { '${K}': 'v' }, init: true, pids_limit: 10, 'x-list': ['v', '$K'] } } });
  });

  test('--env-file replaces .env, later files win, process env wins over all', async () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: "${A}-${B}-${C}"\n',
      '.env': 'A=dot\n',
      'one.env': 'A=one\nB=one\n',
      'two.env': 'B=two\nC=two\n',
    });
    const raw = await loadRaw({ cwd: dir, env: { C: 'proc' }, envFiles: ['one.env', 'two.env'] });
    expect(raw.doc).toEqual({ services: { s: { image: 'one-two-proc' } } });
  });

  test.each([
    ['${', 3, 12],
    ['pre ${ foo}', 3, 16],
    ['${foo!}', 3, 12],
    ['${MISSING:?set MISSING first}', 3, 12],
  ])('interpolation error %s is reported at file:line:col', async (value, line, col) => {
    const dir = tree({ 'compose.yaml': `services:\n  s:\n    image: ${value}\n` });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics).toHaveLength(1);
    expect(err.diagnostics[0]).toMatchObject({ code: 'INTERPOLATION', path: ['services', 's', 'image'], location: { line, col } });
    expect(err.message).toContain(`compose.yaml:${line}:${col}`);
  });

  test('all errors of a file at once: interpolation errors everywhere', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    image: ${\n  b:\n    image: ${x!}\n' });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics.map((d) => d.location?.line)).toEqual([3, 5]);
  });

  test.each([
    ['', 'EMPTY_FILE', 1, 1],
    ['# only a comment\n', 'EMPTY_FILE', 1, 1],
    ['- a\n- b\n', 'NOT_A_MAPPING', 1, 1],
    ['just text\n', 'NOT_A_MAPPING', 1, 1],
    ['services:\n  a: {}\n  a: {}\n', 'DUPLICATE_KEY', 3, 3],
    ['services:\n  a: [1, 2\n', 'YAML_SYNTAX', 3, 1],
    ['services:\n  a: *nope\n', 'YAML_SYNTAX', 2, 6],
  ])('bad file %j → %s at line:col', async (text, code, line, col) => {
    const dir = tree({ 'compose.yaml': text });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics.filter((d) => d.severity === 'error')[0]).toMatchObject({ code, location: { line, col } });
  });

  test('several YAML errors in one file are all reported', async () => {
    const dir = tree({ 'compose.yaml': 'a: 1\na: 2\nb: 1\nb: 2\n' });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics.map((d) => [d.code, d.location?.line])).toEqual([
      ['DUPLICATE_KEY', 2],
      ['DUPLICATE_KEY', 4],
    ]);
  });

  test('unknown tags warn, !reset and !override do not', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    image: !weird x\n    ports: !override ["1:1"]\n' });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({ services: { a: { image: 'x', ports: ['1:1'] } } });
    expect(raw.warnings.map((w) => w.code)).toEqual(['YAML_TAG']);
  });
});

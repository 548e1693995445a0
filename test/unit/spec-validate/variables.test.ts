// `stack config --variables`: the variables a spec's values use, read before interpolation, and
// compose's three ways of printing them.
import { expect, test } from 'vitest';
import { formatVariables, specVariables } from '../../../src/spec/variables.js';

const v = (name: string, over: Partial<{ required: boolean; defaultValue: string; presenceValue: string }> = {}) => ({
  name,
  required: false,
  defaultValue: '',
  presenceValue: '',
  ...over,
});

test('reads every form of reference in values, sorted by name, and none in keys or behind $$', () => {
  const doc = {
    services: {
      '${KEY_IS_NOT_READ}': {
        image: 'redis:${TAG:-7}',
        command: ['sh', '-c', 'echo $HOME $$NOT_A_VARIABLE ${USER-nobody} $9 $'],
        environment: { P: '${PASS:?set PASS}', Q: '${QUIET?}', G: '${GREETING:+hi ${WHO:-you}}', H: '${HELLO+x}' },
        ports: [8080, null, true],
      },
    },
  };
  expect(specVariables(doc)).toEqual([
    v('GREETING', { presenceValue: 'hi ${WHO:-you}' }),
    v('HELLO', { presenceValue: 'x' }),
    v('HOME'),
    v('PASS', { required: true }),
    v('QUIET', { required: true }),
    v('TAG', { defaultValue: '7' }),
    v('USER', { defaultValue: 'nobody' }),
    v('WHO', { defaultValue: 'you' }),
  ]);
});

test('a variable used twice is required when one use requires it, and keeps the first default and alternate given', () => {
  const doc = { a: ['${X}', '${X:-one}', '${X:-two}', '${X:?needed}', '${X:+alt}'], b: '${Y:+first} ${Y:+second}' };
  expect(specVariables(doc)).toEqual([v('X', { required: true, defaultValue: 'one', presenceValue: 'alt' }), v('Y', { presenceValue: 'first' })]);
});

test('skips what interpolation rejects (the load reports it) and reads on after it', () => {
  expect(specVariables({ a: '${1BAD} ${GOOD} ${X!y} ${UNCLOSED' })).toEqual([v('GOOD')]);
});

test("prints compose's table (columns 20 wide at least), its JSON of Go field names, and YAML", () => {
  const vars = [v('PASS', { required: true }), v('POSTGRES_VERSION_OF_THE_DATABASE', { defaultValue: '16' })];
  expect(formatVariables(vars, 'table')).toBe(
    [
      'NAME                               REQUIRED            DEFAULT VALUE       ALTERNATE VALUE',
      'PASS                               true',
      'POSTGRES_VERSION_OF_THE_DATABASE   false               16',
      '',
    ].join('\n'),
  );
  expect(JSON.parse(formatVariables(vars, 'json'))).toEqual({
    PASS: { Name: 'PASS', DefaultValue: '', PresenceValue: '', Required: true },
    POSTGRES_VERSION_OF_THE_DATABASE: { Name: 'POSTGRES_VERSION_OF_THE_DATABASE', DefaultValue: '16', PresenceValue: '', Required: false },
  });
  expect(formatVariables(vars, 'yaml')).toBe('"PASS":\n  name: "PASS"\n  defaultvalue: ""\n  presencevalue: ""\n  required: true\n"POSTGRES_VERSION_OF_THE_DATABASE":\n  name: "POSTGRES_VERSION_OF_THE_DATABASE"\n  defaultvalue: "16"\n  presencevalue: ""\n  required: false\n');
  expect(formatVariables([], 'table')).toBe('NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n');
  expect(formatVariables([], 'yaml')).toBe('{}\n');
});

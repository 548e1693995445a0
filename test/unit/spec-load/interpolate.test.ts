import { describe, expect, test } from 'vitest';
import { substitute, TemplateError } from '../../../src/spec/interpolate.js';

const env: Record<string, string> = { SET: 'value', EMPTY: '', NESTED: '${SET}', DOLLAR: '$SET', B: 'bee' };
const lookup = (k: string): string | undefined => env[k];

function run(template: string): { out: string; unset: string[] } {
  const unset: string[] = [];
  const out = substitute(template, lookup, (n) => unset.push(n));
  return { out, unset };
}

describe('substitute: every form', () => {
  test.each([
    ['$SET', 'value', []],
    ['${SET}', 'value', []],
    ['a${SET}b$SET-c', 'avalueb' + 'value-c', []],
    ['$UNSET', '', ['UNSET']],
    ['${UNSET}', '', ['UNSET']],
    ['${SET:-d}', 'value', []],
    ['${EMPTY:-d}', 'd', []],
    ['${UNSET:-d}', 'd', []],
    ['${SET-d}', 'value', []],
    ['${EMPTY-d}', '', []],
    ['${UNSET-d}', 'd', []],
    ['${SET:?boom}', 'value', []],
    ['${EMPTY?boom}', '', []],
    ['${SET:+alt}', 'alt', []],
    ['${EMPTY:+alt}', '', []],
    ['${UNSET:+alt}', '', []],
    ['${EMPTY+alt}', 'alt', []],
    ['${UNSET+alt}', '', []],
    ['$$', '$', []],
    ['$$SET', '$SET', []],
    ['$${SET}', '${SET}', []],
    ['cost: 5$', 'cost: 5$', []],
    ['$1 and $-', '$1 and $-', []],
    ['${UNSET:-${B}}', 'bee', []],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep', []],
    ['${UNSET:-$B and ${SET}}', 'bee and value', []],
    ['${UNSET:-a:b-c}', 'a:b-c', []],
    ['${SET:+${B}!}', 'bee!', []],
    ['${UNSET:-${B}} then ${SET}', 'bee then value', []],
    ['${lower_Case1:-x}', 'x', []],
    ['${UNSET:-}', '', []],
  ])('%s → %s', (template, out, unset) => {
    expect(run(template)).toEqual({ out, unset });
  });

  test('a substituted value is never expanded again', () => {
    expect(run('${NESTED} $DOLLAR').out).toBe('${SET} $SET');
  });

  test('an unused default is not evaluated (no warning for it)', () => {
    expect(run('${SET:-$UNSET}')).toEqual({ out: 'value', unset: [] });
  });
});

describe('substitute: errors', () => {
  test.each([
    ['${', 0, 'has no closing'],
    ['abc ${SET', 4, 'has no closing'],
    ['${ foo}', 0, 'a variable name starts with'],
    ['${}', 0, 'a variable name starts with'],
    ['x${foo!}', 1, 'after the name foo expected'],
    ['${9lives}', 0, 'a variable name starts with'],
    ['${UNSET:?please set it}', 0, 'required variable UNSET is missing a value: please set it'],
    ['${EMPTY:?}', 0, 'required variable EMPTY is missing a value'],
    ['${UNSET?msg $B}', 0, 'missing a value: msg bee'],
    ['${UNSET:-${ bad}}', 9, 'a variable name starts with'],
  ])('%s', (template, offset, message) => {
    let err: unknown;
    try {
      run(template);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).offset).toBe(offset);
    expect((err as TemplateError).message).toContain(message);
  });
});

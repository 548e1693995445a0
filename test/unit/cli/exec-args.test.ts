// `stack exec`'s command line: options stop at the first positional (the service), so the
// command's own options reach it untouched; -e KEY takes stack's own value.
import { describe, expect, it } from 'vitest';
import type { ParseArgsConfig } from 'node:util';
import { splitAtPositional } from '../../../src/cli/split-args.js';
import { execEnv } from '../../../src/cli/commands/exec.js';
import { UserError } from '../../../src/errors.js';

const options: NonNullable<ParseArgsConfig['options']> = {
  detach: { type: 'boolean', short: 'd' },
  env: { type: 'string', short: 'e', multiple: true },
  user: { type: 'string', short: 'u' },
  workdir: { type: 'string', short: 'w' },
  index: { type: 'string' },
  privileged: { type: 'boolean' },
  'no-TTY': { type: 'boolean', short: 'T' },
};

describe('splitAtPositional', () => {
  it.each([
    [['web', 'ls', '-la'], [], 'web', ['ls', '-la']],
    [['-T', 'web', 'ls', '-la'], ['-T'], 'web', ['ls', '-la']],
    [['-u', 'nobody', 'web', 'id', '-u'], ['-u', 'nobody'], 'web', ['id', '-u']],
    [['--user', 'nobody', 'web', 'id'], ['--user', 'nobody'], 'web', ['id']],
    [['--user=nobody', 'web', 'id'], ['--user=nobody'], 'web', ['id']],
    [['-uroot', 'web', 'id'], ['-uroot'], 'web', ['id']],
    [['-Tu', 'root', 'web', 'id'], ['-Tu', 'root'], 'web', ['id']],
    [['-e', 'A=1', '-e', 'B', '-w', '/tmp', 'web', 'sh', '-c', 'echo $A'], ['-e', 'A=1', '-e', 'B', '-w', '/tmp'], 'web', ['sh', '-c', 'echo $A']],
    [['--index', '1', '--privileged', 'web', 'sh'], ['--index', '1', '--privileged'], 'web', ['sh']],
    [['-d', '--', '-web-', 'x'], ['-d'], '-web-', ['x']],
    [['web', '--', 'x'], [], 'web', ['--', 'x']],
    [['web', '-e', 'A=1', 'env'], [], 'web', ['-e', 'A=1', 'env']],
  ])('%j → options %j, service %j, command %j', (args, opts, positional, rest) => {
    expect(splitAtPositional(args, options)).toEqual({ options: opts, positional, rest });
  });

  it('leaves an unknown option and a missing value to parseArgs, with no positional', () => {
    expect(splitAtPositional(['--bogus', 'web', 'ls'], options)).toEqual({ options: ['--bogus'], positional: 'web', rest: ['ls'] });
    expect(splitAtPositional(['-u'], options)).toEqual({ options: ['-u'], positional: undefined, rest: [] });
    expect(splitAtPositional([], options)).toEqual({ options: [], positional: undefined, rest: [] });
  });
});

describe('execEnv', () => {
  it('takes KEY=VALUE as given and a bare KEY from stack\'s environment, leaving it out when unset', () => {
    expect(execEnv(['A=1', 'B=', 'C=x=y', 'HOME', 'NOPE_STK'], { HOME: '/root' })).toEqual({ A: '1', B: '', C: 'x=y', HOME: '/root' });
  });

  it('refuses an entry that names no variable', () => {
    expect(() => execEnv(['=1'], {})).toThrowError(UserError);
    expect(() => execEnv([''], {})).toThrowError(expect.objectContaining({ code: 'CLI_BAD_ARGUMENTS' }));
  });
});

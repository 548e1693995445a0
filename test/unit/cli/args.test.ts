import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseCommandOptions } from '../../../src/cli/args.js';
import { closest } from '../../../src/cli/suggest.js';
import { UserError } from '../../../src/errors.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof UserError ? e.code : 'not a UserError';
  }
  return undefined;
}

describe('parseCommandLine', () => {
  it('takes global options before the command, repeatable ones in order', () => {
    const line = parseCommandLine(['-f', 'a.yaml', '--file=b.yaml', '-p', 'demo', '--profile', 'dev', 'up', '-d']);
    expect(line.global.files).toEqual(['a.yaml', 'b.yaml']);
    expect(line.global.projectName).toBe('demo');
    expect(line.global.profiles).toEqual(['dev']);
    expect(line.command).toBe('up');
    expect(line.rest).toEqual(['-d']);
  });

  it('leaves options after the command to the command', () => {
    const line = parseCommandLine(['config', '-f', 'x.yaml']);
    expect(line.global.files).toEqual([]);
    expect(line.rest).toEqual(['-f', 'x.yaml']);
  });

  it.each([
    [['--projct-name', 'x', 'up'], 'CLI_UNKNOWN_OPTION'],
    [['-f'], 'CLI_MISSING_VALUE'],
    [['--file=', 'up'], 'CLI_MISSING_VALUE'],
  ])('rejects %j with %s', (argv, code) => {
    expect(codeOf(() => parseCommandLine(argv))).toBe(code);
  });

  it('suggests the nearest global option', () => {
    try {
      parseCommandLine(['--projct-name', 'x']);
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).hint).toMatch(/--project-name/);
    }
  });
});

describe('parseCommandOptions', () => {
  it('parses known options and suggests for unknown ones', () => {
    const opts = { format: { type: 'string' as const, default: 'text' } };
    expect(parseCommandOptions('plan', ['--format', 'json'], opts).values.format).toBe('json');
    try {
      parseCommandOptions('plan', ['--formt', 'json'], opts);
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).code).toBe('CLI_UNKNOWN_OPTION');
      expect((e as UserError).hint).toBe('did you mean --format?');
    }
  });

  it("tells a compose option stack has on purpose no equivalent of, with what to do instead", () => {
    const refusal = (command: string, args: string[]) => {
      try {
        parseCommandOptions(command, args, { detach: { type: 'boolean' as const, short: 'd' } });
      } catch (e) {
        return e as UserError;
      }
      return expect.unreachable();
    };
    expect(refusal('up', ['--build'])).toMatchObject({ code: 'CLI_UNSUPPORTED_OPTION', message: 'stack up has no --build' });
    expect(refusal('up', ['--build']).hint).toContain('stack builds no images');
    expect(refusal('run', ['--build']).hint).toContain('stack builds no images');
    expect(refusal('ps', ['--build']).code).toBe('CLI_UNKNOWN_OPTION'); // only where compose has it
  });
});

describe('closest', () => {
  it.each([
    ['conifg', ['config', 'plan'], 'config'],
    ['pln', ['config', 'plan'], 'plan'],
    ['zzzzzz', ['config', 'plan'], undefined],
    ['-x', ['-f', '-p'], undefined],
  ])('%s → %s', (word, candidates, want) => {
    expect(closest(word, candidates)).toBe(want);
  });
});

// The firewall's command runner: a missing program is a UserError naming its Debian package,
// a failing one a CommandError carrying the whole command and what it said.
import { describe, expect, it } from 'vitest';
import { CommandError } from '../../../src/network/firewall/index.js';
import { has, run } from '../../../src/network/firewall/run.js';

describe('firewall command runner', () => {
  it('names the package of a missing program', async () => {
    await expect(run({}, 'stack-no-such-program', [])).rejects.toMatchObject({ code: 'MISSING_COMMAND' });
    expect(await has({}, 'stack-no-such-program')).toBe(false);
  });

  it('reports a failing program with its command line and stderr', async () => {
    const error = await run({}, 'sh', ['-c', 'echo out; echo broken >&2; exit 3']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).message).toBe('sh -c echo out; echo broken >&2; exit 3: exit 3: broken');
  });

  it('feeds stdin and returns stdout', async () => {
    expect(await run({}, 'cat', [], 'table inet x\n')).toBe('table inet x\n');
  });
});

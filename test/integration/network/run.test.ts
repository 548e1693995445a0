// The firewall's command runner: a missing program is a UserError naming its Debian package,
// a failing one a CommandError carrying the whole command and what it said.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandError } from '../../../src/network/firewall/index.js';
import { has, run } from '../../../src/network/firewall/run.js';

describe('firewall command runner', () => {
  it('names the package of a missing program', async () => {
    await expect(run({}, 'stack-no-such-program', [])).rejects.toMatchObject({ code: 'MISSING_COMMAND' });
    expect(await has({}, 'stack-no-such-program')).toBe(false);
  });

  it('finds a program as spawn would: the first executable file of that name on PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-has-'));
    const saved = process.env.PATH;
    try {
      const notExecutable = join(dir, 'a');
      const folder = join(dir, 'b');
      const found = join(dir, 'c');
      mkdirSync(notExecutable);
      writeFileSync(join(notExecutable, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
      mkdirSync(join(folder, 'tool'), { recursive: true });
      mkdirSync(found);
      writeFileSync(join(found, 'tool'), '#!/bin/sh\n');
      chmodSync(join(found, 'tool'), 0o755);
      const aFile = join(notExecutable, 'tool'); // a PATH entry that is no folder
      process.env.PATH = ['', join(dir, 'missing'), aFile, notExecutable, folder].join(':');
      expect(await has({}, 'tool')).toBe(false);
      process.env.PATH = [aFile, notExecutable, folder, found].join(':');
      expect(await has({}, 'tool')).toBe(true);
    } finally {
      process.env.PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
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

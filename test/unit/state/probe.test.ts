// The folder probe behind observation (state/probe.ts dirPresent): a directory, or a link to
// one, is present; a file, a link to one, a dangling link and a missing path are not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirPresent } from '../../../src/state/probe.js';

describe('dirPresent', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-probe-'));
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'file'), 'x');
    symlinkSync(join(dir, 'folder'), join(dir, 'to-folder'));
    symlinkSync(join(dir, 'file'), join(dir, 'to-file'));
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is true for a folder and a link to one, with or without a slash after it', async () => {
    expect(await dirPresent(join(dir, 'folder'))).toBe(true);
    expect(await dirPresent(`${join(dir, 'folder')}/`)).toBe(true);
    expect(await dirPresent(join(dir, 'to-folder'))).toBe(true);
  });

  it('is false for a file, a link to one, a dangling link, a missing path and a path through a file', async () => {
    for (const name of ['file', 'to-file', 'dangling', 'missing', 'file/below']) expect(await dirPresent(join(dir, name)), name).toBe(false);
  });
});

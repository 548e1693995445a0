// What wakes the supervisor: inotify watches on folders, filtered by entry name.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderWatches } from '../../../src/supervisor/folder-watches.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Resolves once `hit()` is true, checking every 10 ms; false after `ms`. */
async function soon(hit: () => boolean, ms = 2000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (hit()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return hit();
}

describe('supervisor folder watches', () => {
  it('calls back for a wanted entry renamed into place, not for others; an absent folder is not watched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-watch-'));
    dirs.push(dir);
    let calls = 0;
    const watches = new FolderWatches(() => calls++);
    try {
      expect(watches.add(dir, (entry) => entry === 'exit.json')).toBe(true);
      expect(watches.add(dir, () => true)).toBe(true); // kept: one watch per folder
      expect(watches.add(join(dir, 'absent'), () => true)).toBe(false);
      expect(watches.size).toBe(1);
      writeFileSync(join(dir, 'health.json'), '{}');
      writeFileSync(join(dir, 'exit.json.tmp1'), '{}');
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).toBe(0);
      renameSync(join(dir, 'exit.json.tmp1'), join(dir, 'exit.json'));
      expect(await soon(() => calls > 0)).toBe(true);
    } finally {
      watches.close();
    }
    expect(watches.size).toBe(0);
  });

  it('a watched folder that is removed and made again is watched anew after remove()', async () => {
    const base = mkdtempSync(join(tmpdir(), 'stack-watch-'));
    dirs.push(base);
    const dir = join(base, 'svc');
    mkdirSync(dir);
    let calls = 0;
    const watches = new FolderWatches(() => calls++);
    try {
      watches.add(dir, (entry) => entry === 'exit.json');
      rmSync(dir, { recursive: true });
      mkdirSync(dir);
      watches.remove(dir);
      expect(watches.add(dir, (entry) => entry === 'exit.json')).toBe(true);
      writeFileSync(join(dir, 'exit.json'), '{}');
      expect(await soon(() => calls > 0)).toBe(true);
    } finally {
      watches.close();
    }
  });
});

// Runtime files are replaced whole: a new version is swapped in (renameat2 RENAME_EXCHANGE) where
// one is there, renamed in where none is; a reader sees one version or the other, and no temp
// file stays behind. The real kernel on the test's temp folder (ext4 or tmpfs).
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, symlinkSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { removeFolderSync, writeRuntimeJsonSync } from '../../../src/state/atomic.js';
import { exchangePaths } from '../../../src/sys/libc.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stack-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('exchangePaths', () => {
  test('swaps two files in one step', () => {
    writeFileSync(join(dir, 'a'), 'A');
    writeFileSync(join(dir, 'b'), 'B');
    expect(exchangePaths(join(dir, 'a'), join(dir, 'b'))).toBe(true);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('B');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('A');
  });

  test('is false and changes nothing when the target is not there', () => {
    writeFileSync(join(dir, 'a'), 'A');
    expect(exchangePaths(join(dir, 'a'), join(dir, 'none'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['a']);
  });
});

describe('writeRuntimeJsonSync', () => {
  test('makes the folders, then replaces the file whole, leaving no temp file', () => {
    const file = join(dir, 'run', 'p', 'services', 'web.json');
    writeRuntimeJsonSync(file, { v: 1 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = statSync(file).ino;
    writeRuntimeJsonSync(file, { v: 2, more: 'x'.repeat(5000) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 2, more: 'x'.repeat(5000) });
    expect(statSync(file).ino).not.toBe(first); // a new file took the name: never written in place
    expect(readdirSync(join(dir, 'run', 'p', 'services'))).toEqual(['web.json']);
  });

  test('a reader holding the old version reads it whole after the replace', () => {
    const file = join(dir, 'web.json');
    writeRuntimeJsonSync(file, { v: 1, text: 'old'.repeat(1000) });
    const fd = openSync(file, 'r');
    try {
      writeRuntimeJsonSync(file, { v: 2 });
      const buf = Buffer.alloc(8192);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(JSON.parse(buf.subarray(0, n).toString('utf8'))).toEqual({ v: 1, text: 'old'.repeat(1000) });
    } finally {
      closeSync(fd);
    }
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 2 });
    expect(readdirSync(dir)).toEqual(['web.json']);
  });
});

describe('removeFolderSync', () => {
  test('removes a folder with its files, sub-folders and links (not what a link points at)', () => {
    const target = join(dir, 'kept');
    writeFileSync(target, 'stays');
    const gone = join(dir, 'runtime');
    mkdirSync(join(gone, 'secrets', 'deeper'), { recursive: true });
    for (const f of ['hosts', 'hostname', 'service.log', 'secrets/a', 'secrets/deeper/b']) writeFileSync(join(gone, f), f);
    symlinkSync(target, join(gone, 'link'));
    symlinkSync(join(dir, 'nowhere'), join(gone, 'dangling'));
    removeFolderSync(gone);
    expect(existsSync(gone)).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('stays');
  });

  test('removes a link to a folder, not what the folder holds', () => {
    const kept = join(dir, 'kept');
    mkdirSync(kept);
    writeFileSync(join(kept, 'a'), 'stays');
    symlinkSync(kept, join(dir, 'link'));
    removeFolderSync(join(dir, 'link'));
    expect(existsSync(join(dir, 'link'))).toBe(false);
    expect(readFileSync(join(kept, 'a'), 'utf8')).toBe('stays');
  });

  test('removes a file given as the folder, and a sub-folder\'s link to a folder without following it', () => {
    const kept = join(dir, 'kept');
    mkdirSync(kept);
    writeFileSync(join(kept, 'a'), 'stays');
    writeFileSync(join(dir, 'ipam.json'), '{}');
    removeFolderSync(join(dir, 'ipam.json'));
    expect(existsSync(join(dir, 'ipam.json'))).toBe(false);
    mkdirSync(join(dir, 'runtime', 'web'), { recursive: true });
    symlinkSync(kept, join(dir, 'runtime', 'web', 'link'));
    removeFolderSync(join(dir, 'runtime'));
    expect(readdirSync(dir)).toEqual(['kept']);
    expect(readFileSync(join(kept, 'a'), 'utf8')).toBe('stays');
  });

  test('is nothing for a folder that is not there', () => {
    expect(() => removeFolderSync(join(dir, 'none'))).not.toThrow();
  });

  test('removes an empty folder', () => {
    mkdirSync(join(dir, 'empty'));
    removeFolderSync(join(dir, 'empty'));
    expect(readdirSync(dir)).toEqual([]);
  });
});

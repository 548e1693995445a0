// A stop mark is written in place into the empty file a start prepared, and read by the
// supervisor's reader (supervisor/files.ts readStopMark) as the whole mark or as none, never as
// half of one; without a prepared file it is a new file, as before. The real kernel on the test's
// temp folder.
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MARK_BYTES, markText, prepareStopMark, writeStopMarkSync } from '../../../src/state/stop-mark.js';
import { readStopMark } from '../../../src/supervisor/files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stack-stop-mark-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('stop marks', () => {
  test('a mark is MARK_BYTES long whatever its numbers, and is the JSON of the process', () => {
    for (const process of [{ pid: 1, startTime: 0 }, { pid: 4194304, startTime: 99_999_999_999_999 }]) {
      const text = markText(process);
      expect(text).toHaveLength(MARK_BYTES);
      expect(JSON.parse(text)).toEqual(process);
    }
  });

  test('a prepared file is empty, read as no mark, and takes the mark in place (the same inode)', async () => {
    const path = join(dir, 'stopped.json');
    await prepareStopMark(path);
    expect(readFileSync(path, 'utf8')).toBe('');
    expect(await readStopMark(path)).toBeUndefined();
    const inode = statSync(path).ino;
    writeStopMarkSync(path, { pid: 42, startTime: 7 });
    expect(statSync(path).ino).toBe(inode);
    expect(await readStopMark(path)).toEqual({ pid: 42, startTime: 7 });
  });

  test('a later mark covers the one before whole (a shorter one leaves nothing of the longer)', async () => {
    const path = join(dir, 'stopped.json');
    await prepareStopMark(path);
    writeStopMarkSync(path, { pid: 4194304, startTime: 99_999_999_999 });
    writeStopMarkSync(path, { pid: 5, startTime: 6 });
    expect(readFileSync(path, 'utf8')).toHaveLength(MARK_BYTES);
    expect(await readStopMark(path)).toEqual({ pid: 5, startTime: 6 });
  });

  test('a mark written the old way (a short file renamed into place) is covered whole too', async () => {
    const path = join(dir, 'stopped.json');
    writeFileSync(path, JSON.stringify({ pid: 1, startTime: 2 }, null, 2));
    writeStopMarkSync(path, { pid: 3, startTime: 4 });
    expect(await readStopMark(path)).toEqual({ pid: 3, startTime: 4 });
  });

  test('preparing leaves a mark that is there as it is', async () => {
    const path = join(dir, 'stopped.json');
    writeStopMarkSync(path, { pid: 8, startTime: 9 });
    await prepareStopMark(path);
    expect(await readStopMark(path)).toEqual({ pid: 8, startTime: 9 });
  });

  test('without a prepared file the mark is a new file, its folder made when missing', async () => {
    const path = join(dir, 'runtime', 's0', 'stopped.json');
    writeStopMarkSync(path, { pid: 10, startTime: 11 });
    expect(await readStopMark(path)).toEqual({ pid: 10, startTime: 11 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('a link where the mark goes is replaced, never written through', async () => {
    const outside = join(dir, 'outside');
    writeFileSync(outside, 'keep');
    mkdirSync(join(dir, 'run'));
    const path = join(dir, 'run', 'stopped.json');
    symlinkSync(outside, path);
    writeStopMarkSync(path, { pid: 12, startTime: 13 });
    expect(readFileSync(outside, 'utf8')).toBe('keep');
    expect(statSync(path).isFile()).toBe(true);
    expect(await readStopMark(path)).toEqual({ pid: 12, startTime: 13 });
  });

  test('preparing in a folder that is gone does nothing and does not fail', async () => {
    await expect(prepareStopMark(join(dir, 'gone', 'stopped.json'))).resolves.toBeUndefined();
  });
  test('a file that is not the prepared one is replaced, never written into: a second link to it (fstat), a fifo (no reader: its open fails)', async () => {
    const path = join(dir, 'stopped.json');
    const other = join(dir, 'elsewhere');
    writeFileSync(other, '');
    linkSync(other, path);
    writeStopMarkSync(path, { pid: 14, startTime: 15 });
    expect(readFileSync(other, 'utf8')).toBe('');
    expect(await readStopMark(path)).toEqual({ pid: 14, startTime: 15 });
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    writeStopMarkSync(fifo, { pid: 16, startTime: 17 });
    expect(statSync(fifo).isFile()).toBe(true);
    expect(await readStopMark(fifo)).toEqual({ pid: 16, startTime: 17 });
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { findGitDir } from '../../../src/watch/prepare.js';

describe('the git folder a watched path is in (its index.lock holds a batch)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'stack-gitdir-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a .git folder above the path', () => {
    mkdirSync(join(dir, 'repo', '.git'), { recursive: true });
    mkdirSync(join(dir, 'repo', 'src', 'deep'), { recursive: true });
    expect(findGitDir(join(dir, 'repo', 'src', 'deep'))).toBe(join(dir, 'repo', '.git'));
  });

  test("a worktree's .git file points at its git folder", () => {
    mkdirSync(join(dir, 'wt', 'src'), { recursive: true });
    writeFileSync(join(dir, 'wt', '.git'), 'gitdir: ../main/.git/worktrees/wt\n');
    expect(findGitDir(join(dir, 'wt', 'src'))).toBe(join(dir, 'main', '.git', 'worktrees', 'wt'));
  });

  test('none outside a repository', () => {
    mkdirSync(join(dir, 'plain'));
    expect(findGitDir(join(dir, 'plain'))).toBeUndefined();
  });
});

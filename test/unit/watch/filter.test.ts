import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { dockerignorePatterns, readDockerignore, watchFilter } from '../../../src/watch/filter.js';
import { UserError } from '../../../src/errors.js';

const none = { ignore: [] as string[], include: [] as string[] };

describe('watch filter', () => {
  test.each([
    ['.git', true],
    ['.git/HEAD', true],
    ['sub/.git/index', true],
    ['4913', true],
    ['src/4913', true],
    ['src/app.js~', true],
    ['src/.app.js.swp', true],
    ['.app.js.swx', true],
    ['src/.#app.js', true],
    ['src/#app.js#', true],
    ['src/app.js___jb_tmp___', true],
    ['src/app.js___jb_old___', true],
    ['src/app.js', false],
    ['src/4913.js', false],
    ['gitignore', false],
  ])('editor temporaries and .git are ignored without being told: %s → %s', (path, ignored) => {
    expect(watchFilter(none, [], 'test').ignores(path, false)).toBe(ignored);
  });

  test('.dockerignore semantics: a bare name matches at the root only, ** anywhere, ! re-includes', () => {
    const f = watchFilter(none, ['node_modules', '**/*.log', 'build/*', '!build/keep.txt'], 'test');
    expect(f.ignores('node_modules/x/index.js', false)).toBe(true);
    expect(f.ignores('pkg/node_modules/x.js', false)).toBe(false); // gitignore would ignore it
    expect(f.ignores('a/b/debug.log', false)).toBe(true);
    expect(f.ignores('build/out.js', false)).toBe(true);
    expect(f.ignores('build/keep.txt', false)).toBe(false);
    expect(f.ignores('NODE_MODULES/x', false)).toBe(false); // case matters on Linux
  });

  test('ignored folders are pruned (never watched) unless a ! pattern could re-include something in them', () => {
    expect(watchFilter(none, ['node_modules'], 't').prunes('node_modules')).toBe(true);
    expect(watchFilter(none, [], 't').prunes('.git')).toBe(true);
    expect(watchFilter(none, [], 't').prunes('src')).toBe(false);
    expect(watchFilter(none, ['build', '!build/keep'], 't').prunes('build')).toBe(false);
    // `*` then `!src`: src is watched, .git and node_modules are still never entered
    const f = watchFilter(none, ['*', '!src'], 't');
    expect(f.prunes('src')).toBe(false);
    expect(f.prunes('node_modules')).toBe(true);
    expect(f.prunes('.git')).toBe(true);
    expect(f.ignores('src/a.js', false)).toBe(false);
    // a wildcard at the start could match anywhere: nothing ignored is pruned
    expect(watchFilter(none, ['node_modules', '!**/keep.js'], 't').prunes('node_modules')).toBe(false);
  });

  test("the rule's ignore adds to .dockerignore; include keeps only matching files and never prunes folders", () => {
    const f = watchFilter({ ignore: ['tmp/'], include: ['**/*.js'] }, [], 't');
    expect(f.ignores('tmp/a.js', false)).toBe(true);
    expect(f.ignores('src/a.js', false)).toBe(false);
    expect(f.ignores('src/a.css', false)).toBe(true);
    expect(f.ignores('src', true)).toBe(false);
    expect(f.prunes('src')).toBe(false);
  });

  test('a pattern that does not parse is a UserError naming the rule', () => {
    let error: unknown;
    try {
      watchFilter({ ignore: ['[a'], include: [] }, [], 'service "web", develop.watch rule 1 (/p/src)');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'WATCH_BAD_PATTERN' });
    expect((error as Error).message).toContain('service "web", develop.watch rule 1');
  });

  test('.dockerignore: comments and blank lines are not patterns; a missing file gives none', () => {
    expect(dockerignorePatterns('# deps\nnode_modules\n\n  *.log  \r\n')).toEqual(['node_modules', '*.log']);
    const dir = mkdtempSync(join(tmpdir(), 'stack-filter-'));
    try {
      expect(readDockerignore(dir)).toEqual([]);
      writeFileSync(join(dir, '.dockerignore'), 'dist\n');
      expect(readDockerignore(dir)).toEqual(['dist']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('watcher errors', () => {
  test('running out of inotify watches or instances names the sysctl to raise', async () => {
    const { watchError } = await import('../../../src/watch/watcher.js');
    const enospc = Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    const emfile = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    expect(watchError('/p/src', enospc)).toMatchObject({ code: 'WATCH_LIMIT', message: expect.stringContaining('fs.inotify.max_user_watches') });
    expect(watchError('/p/src', emfile)).toMatchObject({ code: 'WATCH_LIMIT', message: expect.stringContaining('fs.inotify.max_user_instances') });
  });
});

// docker cp's rules as `stack cp` reads them: which side is a service, where a copy lands, and
// the tar rename of the top entry.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { archived, landing, parseCopyEnd, renameTransform } from '../../../src/cli/commands/cp.js';

describe('stack cp rules', () => {
  it('SERVICE:PATH unless the argument starts with / or . (a local path with a colon)', () => {
    expect(parseCopyEnd('web:/etc/hosts')).toEqual({ kind: 'service', service: 'web', path: '/etc/hosts' });
    expect(parseCopyEnd('web:etc')).toEqual({ kind: 'service', service: 'web', path: '/etc' });
    expect(parseCopyEnd('web:')).toEqual({ kind: 'service', service: 'web', path: '/' });
    expect(parseCopyEnd('./a:b')).toEqual({ kind: 'host', path: './a:b' });
    expect(parseCopyEnd('/x:y')).toEqual({ kind: 'host', path: '/x:y' });
    expect(parseCopyEnd('-')).toEqual({ kind: 'host', path: '-' });
    expect(parseCopyEnd('file')).toEqual({ kind: 'host', path: 'file' });
  });

  it('lands into an existing folder, under a new name, or onto a file; refuses what docker refuses', () => {
    expect(landing('file', '/d', 'dir', 'dir')).toEqual({ dir: '/d' });
    expect(landing('dir', '/d/new', 'none', 'dir')).toEqual({ dir: '/d', rename: 'new' });
    expect(landing('file', '/d/f', 'file', 'dir')).toEqual({ dir: '/d', rename: 'f' });
    expect(() => landing('dir', '/d/f', 'file', 'dir')).toThrow(/cannot copy a folder onto the file/);
    expect(() => landing('file', '/d/new/', 'none', 'dir')).toThrow(/does not exist/);
    expect(() => landing('file', '/nope/f', 'none', 'none')).toThrow(/folder \/nope does not exist/);
  });

  it('a folder or its contents (/.)', () => {
    expect(archived('/a/b')).toEqual({ dir: '/a', entry: 'b', contents: false });
    expect(archived('/a/b/')).toEqual({ dir: '/a', entry: 'b', contents: false });
    expect(archived('/a/b/.')).toEqual({ dir: '/a/b', entry: '.', contents: true });
    expect(archived('/')).toEqual({ dir: '/', entry: '.', contents: true });
  });

  it("renames the top entry in GNU tar's --transform, special characters quoted", () => {
    const names = (from: string, to: string, members: string[]) =>
      // sed knows the expression but not tar's flags after it (S: leave symlink targets alone)
      members.map((m) => execFileSync('sed', ['-e', renameTransform(from, to).replace(/,S$/, ',')], { input: m }).toString());
    expect(renameTransform('a', 'b')).toMatch(/,S$/);
    expect(names('a.b', 'x,&y', ['a.b', 'a.b/c', 'aXb/c', 'a.bc'])).toEqual(['x,&y', 'x,&y/c', 'aXb/c', 'a.bc']);
    expect(names('.', 'new', ['.', './', './x'])).toEqual(['new', 'new/', 'new/x']);
  });
});

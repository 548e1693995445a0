import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { copyInto, readInside, removeFrom, syncDestination } from '../../../src/watch/sync.js';
import { service as testService } from '../planner/fixtures.js';
import type { Mount, WatchRule } from '../../../src/spec/project.js';

const rule = (path: string, target: string): WatchRule => ({ path, action: 'sync', target, ignore: [], include: [], initialSync: false });
const volumeDir = (m: Extract<Mount, { type: 'volume' }>) => [`/vol/${m.source ?? 'anon'}`];

describe('sync destination', () => {
  test('a target inside a named volume maps into its folder; the deepest mount wins', () => {
    const s = testService('web', {
      volumes: [
        { type: 'volume', source: 'app', target: '/app', readOnly: false },
        { type: 'volume', target: '/app/cache', readOnly: false },
      ],
    });
    expect(syncDestination(s, rule('/p/src', '/app/src'), 'ctx', volumeDir)).toEqual({ kind: 'volume', roots: ['/vol/app'], base: 'src', volume: 'app' });
    expect(syncDestination(s, rule('/p/c', '/app/cache/x'), 'ctx', volumeDir)).toMatchObject({ kind: 'volume', roots: ['/vol/anon'], base: 'x' });
    expect(syncDestination(s, rule('/p/src', '/app'), 'ctx', volumeDir)).toMatchObject({ roots: ['/vol/app'], base: '' });
  });

  test('a file rule whose target is the mount point of a volume is refused', () => {
    const s = testService('web', { volumes: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }] });
    expect(() => syncDestination(s, rule('/p/app.conf', '/data'), 'ctx', volumeDir, false)).toThrowError(/is the mount point of a volume/);
    expect(syncDestination(s, rule('/p/app.conf', '/data/app.conf'), 'ctx', volumeDir, false)).toMatchObject({ base: 'app.conf' });
  });

  test('the watched folder bound at the target needs no copy', () => {
    const s = testService('web', { volumes: [{ type: 'bind', source: '/p', target: '/app', readOnly: false, createHostPath: true }] });
    expect(syncDestination(s, rule('/p/src', '/app/src'), 'ctx', volumeDir)).toEqual({ kind: 'bound' });
  });

  test.each<[string, Mount[], RegExp]>([
    ['no volume', [], /not in a volume of the service/],
    ['a tmpfs', [{ type: 'tmpfs', target: '/app', readOnly: false }], /tmpfs/],
    ['a bind of another folder', [{ type: 'bind', source: '/elsewhere', target: '/app', readOnly: false, createHostPath: true }], /write to the host/],
    ['a read-only volume', [{ type: 'volume', source: 'app', target: '/app', readOnly: true }], /read-only/],
  ])('a target in %s is refused, naming the rule', (_what, volumes, message) => {
    const s = testService('web', { volumes });
    expect(() => syncDestination(s, rule('/p/src', '/app/src'), 'service "web", develop.watch rule 1 (/p/src)', volumeDir)).toThrowError(message);
    try {
      syncDestination(s, rule('/p/src', '/app/src'), 'service "web", develop.watch rule 1 (/p/src)', volumeDir);
    } catch (e) {
      expect(e).toMatchObject({ code: 'WATCH_TARGET' });
      expect((e as Error).message).toContain('develop.watch rule 1');
    }
  });
});

describe('sync copies', () => {
  let dir: string;
  let volume: string;
  let outside: string;
  let src: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-sync-'));
    volume = join(dir, 'volume');
    outside = join(dir, 'outside');
    src = join(dir, 'src');
    for (const d of [volume, outside, src]) mkdirSync(d);
    writeFileSync(join(outside, 'secret'), 'host data');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('copies a file into new folders with its mode, and removes it again', async () => {
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o750 });
    expect(await copyInto(volume, 'a/b/run.sh', join(src, 'run.sh'), undefined)).toBe('copied');
    expect(readFileSync(join(volume, 'a/b/run.sh'), 'utf8')).toBe('#!/bin/sh\n');
    expect(statSync(join(volume, 'a/b/run.sh')).mode & 0o777).toBe(0o750);
    expect((await readInside(volume, 'a/b/run.sh', 100))?.toString()).toBe('#!/bin/sh\n');
    await removeFrom(volume, 'a/b/run.sh');
    expect(existsSync(join(volume, 'a/b/run.sh'))).toBe(false);
    await removeFrom(volume, 'a/b/run.sh'); // already gone: fine
    await removeFrom(volume, 'no/such/folder/x');
  });

  test('a symlink the service planted anywhere in its volume is replaced, never followed out of it', async () => {
    writeFileSync(join(src, 'secret'), 'from the project');
    // the target is two folders below the mount point; the service replaced the first with a link
    symlinkSync(outside, join(volume, 'app'));
    await copyInto(volume, 'app/sub/secret', join(src, 'secret'), undefined);
    symlinkSync(join(outside, 'secret'), join(volume, 'secret')); // a file link
    await copyInto(volume, 'secret', join(src, 'secret'), undefined);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host data');
    expect(existsSync(join(outside, 'sub'))).toBe(false);
    expect(lstatSync(join(volume, 'app')).isDirectory()).toBe(true);
    expect(lstatSync(join(volume, 'secret')).isFile()).toBe(true);
    expect(readFileSync(join(volume, 'app/sub/secret'), 'utf8')).toBe('from the project');
    // reading back never follows one either
    rmSync(join(volume, 'secret'));
    symlinkSync(join(outside, 'secret'), join(volume, 'secret'));
    expect(await readInside(volume, 'secret', 100)).toBeUndefined();
  });

  test('removing through a planted symlink removes the link, not what it points at', async () => {
    symlinkSync(outside, join(volume, 'dir'));
    await removeFrom(volume, 'dir/secret');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host data');
    mkdirSync(join(volume, 'real'));
    symlinkSync(outside, join(volume, 'real', 'link'));
    await removeFrom(volume, 'real');
    expect(existsSync(join(volume, 'real'))).toBe(false);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host data');
  });

  test('a symlink in the watched folder is copied as a symlink, never as the file it points at; a FIFO is skipped', async () => {
    symlinkSync(join(outside, 'secret'), join(src, 'link'));
    await copyInto(volume, 'link', join(src, 'link'), undefined);
    expect(lstatSync(join(volume, 'link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(volume, 'link'))).toBe(join(outside, 'secret'));
    execFileSync('mkfifo', [join(src, 'fifo')]);
    expect(await copyInto(volume, 'fifo', join(src, 'fifo'), undefined)).toBe('skipped');
    expect(existsSync(join(volume, 'fifo'))).toBe(false);
  });

  test('a folder where the file now is gets replaced', async () => {
    writeFileSync(join(src, 'x'), 'file now');
    mkdirSync(join(volume, 'x', 'deep'), { recursive: true });
    await copyInto(volume, 'x', join(src, 'x'), undefined);
    expect(readFileSync(join(volume, 'x'), 'utf8')).toBe('file now');
  });
});

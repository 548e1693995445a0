// The spec cache (src/spec/cache.ts): a kept load is used only while every file it read and every
// path it tested look the same, for the same options and environment; anything else loads anew.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectCached } from '../../../src/spec/cache.js';
import { loadProject, SpecError } from '../../../src/spec/index.js';
import { newLooks, recorded, readText, unchanged } from '../../../src/spec/fs.js';
import { hashService } from '../../../src/planner/hash.js';

describe('spec cache', () => {
  let dir: string;
  let cache: string;
  const env = (extra: Record<string, string> = {}) => ({ HOME: '/home/t', PATH: '/usr/bin', ...extra });
  const load = (extra: Record<string, string> = {}, opts: { files?: string[]; profiles?: string[]; targets?: string[] } = {}) =>
    loadProjectCached({ cwd: dir, env: env(extra), ...opts }, cache);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-spec-cache-'));
    cache = join(dir, 'cache');
    writeFileSync(join(dir, 'compose.yaml'), 'name: p\nservices:\n  web:\n    command: ["sleep", "${NAP:-1}"]\n    env_file: [vars.env]\n');
    writeFileSync(join(dir, 'vars.env'), 'A=1\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a second load of an unchanged spec is the kept one, equal to a fresh load (same config hashes), kept 0600', async () => {
    const first = await load();
    const second = await load();
    expect([first.cached, second.cached]).toEqual([false, true]);
    const fresh = await loadProject({ cwd: dir, env: env() });
    expect(second.project).toEqual(fresh.project);
    expect(hashService(second.project.services.web!)).toEqual(hashService(fresh.project.services.web!));
    expect(Object.isFrozen(second.project.services.web)).toBe(true);
    const [entry] = readdirSync(cache);
    expect(statSync(join(cache, entry!)).mode & 0o777).toBe(0o600);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
  });

  it('an edited compose file, env_file or .env, a new override file, a changed variable or option: a fresh load', async () => {
    await load();
    writeFileSync(join(dir, 'compose.yaml'), 'name: p\nservices:\n  web:\n    command: ["sleep", "${NAP:-2}"]\n    env_file: [vars.env]\n');
    let r = await load();
    expect(r.cached).toBe(false);
    expect(r.project.services.web!.command).toEqual(['sleep', '2']);
    writeFileSync(join(dir, 'vars.env'), 'A=2\n');
    r = await load();
    expect([r.cached, r.project.services.web!.environment.A]).toEqual([false, '2']);
    writeFileSync(join(dir, '.env'), 'NAP=5\n');
    r = await load();
    expect([r.cached, r.project.services.web!.command]).toEqual([false, ['sleep', '5']]);
    writeFileSync(join(dir, 'compose.override.yaml'), 'services:\n  web:\n    working_dir: /srv\n');
    r = await load();
    expect([r.cached, r.project.services.web!.workingDir]).toEqual([false, '/srv']);
    expect((await load()).cached).toBe(true);
    r = await load({ NAP: '9' });
    expect([r.cached, r.project.services.web!.command]).toEqual([false, ['sleep', '9']]);
    expect((await load({}, { profiles: ['x'] })).cached).toBe(false);
    expect((await load()).cached).toBe(true); // the earlier entry still fits
  });

  it('the services a command names are its own key when they enable one: a service behind a profile is there', async () => {
    writeFileSync(join(dir, 'compose.yaml'), 'name: p\nservices:\n  web:\n    command: ["sleep", "1"]\n  debug:\n    command: ["sleep", "1"]\n    profiles: [debug]\n');
    expect(Object.keys((await load()).project.services)).toEqual(['web']);
    // Naming a service the plain load enables (or does not have) is the plain load, kept.
    expect((await load({}, { targets: ['web'] })).cached).toBe(true);
    expect((await load({}, { targets: ['nosuch'] })).cached).toBe(true);
    expect(readdirSync(cache)).toHaveLength(1);
    const named = await load({}, { targets: ['debug'] });
    expect([named.cached, Object.keys(named.project.services)]).toEqual([false, ['debug', 'web']]);
    expect((await load({}, { targets: ['debug', 'debug'] })).cached).toBe(true);
    expect(Object.keys((await load()).project.services)).toEqual(['web']);
  });

  it('depends on the variables the load read, not on the rest of the environment', async () => {
    await load({ TERM: 'xterm', OLDPWD: '/a' });
    // Another terminal, another folder before: the same load.
    expect((await load({ TERM: 'vt100', OLDPWD: '/b', SSH_TTY: '/dev/pts/3' })).cached).toBe(true);
    // A variable the spec reads, newly set: a fresh load, kept beside the first.
    const nap = await load({ NAP: '7' });
    expect([nap.cached, nap.project.services.web!.command]).toEqual([false, ['sleep', '7']]);
    expect((await load({ NAP: '7', TERM: 'dumb' })).cached).toBe(true);
    expect((await load()).cached).toBe(true);
    // Read through the .env file's own interpolation (BASE is used by .env only).
    writeFileSync(join(dir, '.env'), 'NAP=${BASE:-3}0\n');
    const fromEnvFile = await load({ BASE: '4' });
    expect([fromEnvFile.cached, fromEnvFile.project.services.web!.command]).toEqual([false, ['sleep', '40']]);
    expect((await load({ BASE: '4', TERM: 'x' })).cached).toBe(true);
    const other = await load({ BASE: '5' });
    expect([other.cached, other.project.services.web!.command]).toEqual([false, ['sleep', '50']]);
    // COMPOSE_PROJECT_NAME is read (it names the project).
    const named = await load({ BASE: '5', COMPOSE_PROJECT_NAME: 'other' });
    expect([named.cached, named.project.name]).toEqual([false, 'other']);
  });

  it('a kept load whose files changed since is dropped when the next is kept; one for another environment stays', async () => {
    const variants = () => (JSON.parse(readFileSync(join(cache, readdirSync(cache)[0]!), 'utf8')) as { variants: unknown[] }).variants.length;
    await load();
    await load({ NAP: '7' });
    expect(variants()).toBe(2);
    writeFileSync(join(dir, 'vars.env'), 'A=2\n'); // both read it
    expect((await load()).cached).toBe(false);
    expect(variants()).toBe(1);
    const nap = await load({ NAP: '7' });
    expect([nap.cached, nap.project.services.web!.environment.A]).toEqual([false, '2']);
    expect(variants()).toBe(2);
    expect((await load()).cached).toBe(true); // kept beside the other environment's
  });

  it('a spec with errors is never kept: each load reports them', async () => {
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    command: 3\n');
    await expect(load()).rejects.toBeInstanceOf(SpecError);
    await expect(load()).rejects.toBeInstanceOf(SpecError);
    expect(() => readdirSync(cache)).toThrow();
  });

  it('a file of kept loads is for the exact options it names: another text of the same digest is a fresh load, and takes the file', async () => {
    await load();
    const [name] = readdirSync(cache);
    const path = join(cache, name!);
    const kept = JSON.parse(readFileSync(path, 'utf8')) as { given: string; variants: unknown[] };
    expect(name).toMatch(/^[0-9a-f]{16}\.json$/);
    expect(JSON.parse(kept.given)).toContainEqual(expect.arrayContaining([dir]));
    // The file as a colliding text of other options would have left it.
    writeFileSync(path, JSON.stringify({ ...kept, given: kept.given.replace(dir, '/elsewhere') }));
    const r = await load();
    expect(r.cached).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8')).given).toBe(kept.given);
    expect((await load()).cached).toBe(true);
  });

  it('STACK_SPEC_CACHE=0 loads anew every time', async () => {
    await load({ STACK_SPEC_CACHE: '0' });
    expect((await load({ STACK_SPEC_CACHE: '0' })).cached).toBe(false);
  });

  it('a folder past 256 files is pruned to the newest 192, so the next new files write without a prune', async () => {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    for (let i = 0; i < 256; i++) {
      const old = join(cache, `${String(i).padStart(16, '0')}.json`);
      writeFileSync(old, '{}');
      utimesSync(old, 1_000_000 + i, 1_000_000 + i); // file i is the i-th oldest
    }
    await load();
    let names = readdirSync(cache);
    expect(names).toHaveLength(192);
    expect(names).not.toContain(`${'64'.padStart(16, '0')}.json`); // the 65 oldest went
    expect(names).toContain(`${'65'.padStart(16, '0')}.json`);
    expect((await load()).cached).toBe(true); // the new entry stayed
    await load({}, { profiles: ['other'] }); // other options: another file
    names = readdirSync(cache);
    expect(names).toHaveLength(193);
  });

  it('one lookup looks at each file once for all the loads kept in a folder: the memo answers the second', async () => {
    const file = join(dir, 'compose.yaml');
    const { seen } = await recorded(async () => readText(file));
    const looks = newLooks();
    expect(unchanged(seen!, env(), looks)).toBe(true);
    writeFileSync(file, 'name: q\n');
    expect(unchanged(seen!, env(), looks)).toBe(true); // what this lookup saw
    expect(unchanged(seen!, env())).toBe(false); // a new lookup looks again
    expect(unchanged(seen!, env(), newLooks())).toBe(false);
  });
});

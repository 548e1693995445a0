// A bind source a service could have tampered with (issue 9): prepareMounts, the function `up`
// and the supervisor's restarts call, walks the source one component at a time through held
// folder fds. A symlink at any component (one a service with `.` bound writable could plant,
// to /) is refused with its path before anything is made or chowned on the host; the folders
// it makes are handed to the invoking user through fds, and only those. Real kernel, root (chown).
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { prepareMounts } from '../../../src/runtime/mounts.js';
import type { Mount, Project, Service } from '../../../src/spec/project.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';

const tag = `stkbind${randomBytes(4).toString('hex')}`;
const invoker = { uid: 65534, gid: 65534 };

describeRoot('escape: a bind source swapped for a symlink', () => {
  let dir: string;
  let outside: string; // a host folder a planted link points at; nothing may appear in it

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-bind-'));
    outside = join(dir, 'outside');
    mkdirSync(outside, { mode: 0o755 });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(`/${tag}`)).toBe(false);
  });

  /** A fresh project folder and a service `web` binding `rel` (inside it) writable. */
  function project(rel: string, createHostPath = true): { project: Project; service: Service; workingDir: string } {
    const workingDir = mkdtempSync(join(dir, 'project-'));
    const mount: Mount = { type: 'bind', source: join(workingDir, rel), target: '/data', readOnly: false, createHostPath };
    const service = testService({ command: ['true'], name: 'web', volumes: [mount] });
    return { project: { name: tag, workingDir, files: [], services: { web: service }, networks: {}, volumes: {} }, service, workingDir };
  }

  async function prepare(p: { project: Project; service: Service }, mode: 'make' | 'find' = 'make') {
    return prepareMounts({ roots: { run: join(dir, 'run'), lib: join(dir, 'lib') }, project: p.project, mode, invoker }, p.service);
  }

  async function refusal(promise: Promise<unknown>): Promise<UserError> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }

  it('makes the missing folders of ./a/b/c, hands exactly those to the invoking user, and leaves an existing one alone', async () => {
    const p = project('a/b/c');
    mkdirSync(join(p.workingDir, 'a'));
    const mounts = await prepare(p);
    expect(mounts).toEqual([{ type: 'bind', source: join(p.workingDir, 'a/b/c'), target: '/data', readOnly: false, beneath: p.workingDir }]);
    const owner = (rel: string) => ({ rel, uid: statSync(join(p.workingDir, rel)).uid, mode: (statSync(join(p.workingDir, rel)).mode & 0o777).toString(8) });
    expect(['a', 'a/b', 'a/b/c'].map(owner)).toEqual([
      { rel: 'a', uid: 0, mode: '755' },
      { rel: 'a/b', uid: invoker.uid, mode: '755' },
      { rel: 'a/b/c', uid: invoker.uid, mode: '755' },
    ]);
    // Found again (a restart), nothing changes.
    expect(await prepare(p, 'find')).toEqual(mounts);
  });

  it('a symlink to / at any component is refused with its path; nothing is made or chowned through it', async () => {
    for (const [link, rel] of [
      ['data', `data/${tag}`], // ./data -> /: mkdir -p + chown would have made /<tag> and chowned it
      [`a`, `a/${tag}/c`],
      [`a/b`, `a/b/${tag}`],
      [`a/b/c`, `a/b/c`], // the source itself
    ] as const) {
      const p = project(rel);
      mkdirSync(join(p.workingDir, link, '..'), { recursive: true });
      symlinkSync('/', join(p.workingDir, link));
      for (const mode of ['make', 'find'] as const) {
        const error = await refusal(prepare(p, mode));
        expect({ link, mode, code: error.code }).toEqual({ link, mode, code: 'BIND_SOURCE_SYMLINK' });
        expect(error.message).toContain(`goes through the symlink ${join(p.workingDir, link)}`);
      }
      expect(lstatSync(join(p.workingDir, link)).isSymbolicLink()).toBe(true);
    }
    expect(existsSync(`/${tag}`)).toBe(false);
    expect(statSync('/').uid).toBe(0);
  });

  it('a symlink to another host folder is refused too; that folder gets no entry and keeps its owner', async () => {
    const p = project('data/new');
    symlinkSync(outside, join(p.workingDir, 'data'));
    const error = await refusal(prepare(p));
    expect(error.code).toBe('BIND_SOURCE_SYMLINK');
    expect(readdirSync(outside)).toEqual([]);
    expect(statSync(outside).uid).toBe(0);
  });

  it('a file as the source is bound as it is; a missing source the long syntax names is refused as missing, not made', async () => {
    const p = project('config.txt');
    writeFileSync(join(p.workingDir, 'config.txt'), 'x');
    chownSync(join(p.workingDir, 'config.txt'), 0, 0);
    expect(await prepare(p)).toHaveLength(1);
    expect(statSync(join(p.workingDir, 'config.txt')).uid).toBe(0);
    const missing = project('absent/deeper', false);
    expect((await refusal(prepare(missing))).code).toBe('BIND_SOURCE_MISSING');
    expect(existsSync(join(missing.workingDir, 'absent'))).toBe(false);
  });
});

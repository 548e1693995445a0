// The per-project lock: one holder at a time, a waiter told who holds it, --no-lock-wait failing
// with LOCKED, the file gone after release, and no stale lock after its holder is SIGKILLed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { acquireProjectLock, lockPath, projectLocked, type LockHolder } from '../../../src/state/lock.js';
import type { StateRoots } from '../../../src/state/paths.js';

const dirs: string[] = [];
function roots(): StateRoots {
  const dir = mkdtempSync(join(tmpdir(), 'stack-lock-'));
  dirs.push(dir);
  return { run: join(dir, 'run'), lib: join(dir, 'lib') };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('project lock', () => {
  it('is held by one at a time; --no-lock-wait fails with LOCKED naming the holder', async () => {
    const r = roots();
    const first = await acquireProjectLock(r, 'p', { command: 'stack up' });
    expect(projectLocked(r, 'p')).toBe(true);
    const second = acquireProjectLock(r, 'p', { command: 'stack down', wait: false });
    await expect(second).rejects.toBeInstanceOf(UserError);
    await expect(second).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining('`stack up`') });
    await first.release();
    expect(existsSync(lockPath(r, 'p'))).toBe(false);
    expect(existsSync(r.run)).toBe(true);
    expect(projectLocked(r, 'p')).toBe(false);
  });

  it('a waiter is told who holds it and gets it on release', async () => {
    const r = roots();
    const first = await acquireProjectLock(r, 'p', { command: 'stack up' });
    let told: LockHolder | undefined;
    const waiting = acquireProjectLock(r, 'p', { command: 'stack down', pollMs: 5, onWait: (h) => (told = h) });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(told).toMatchObject({ pid: process.pid, command: 'stack up' });
    await first.release();
    const second = await waiting;
    expect(projectLocked(r, 'p')).toBe(true);
    await second.release();
  });

  it('projects do not share a lock', async () => {
    const r = roots();
    const a = await acquireProjectLock(r, 'a', { command: 'stack up' });
    const b = await acquireProjectLock(r, 'b', { command: 'stack up', wait: false });
    await Promise.all([a.release(), b.release()]);
  });

  it('a line a killed holder left in the file is replaced by the new holder\'s, whole', async () => {
    const r = roots();
    const path = lockPath(r, 'p');
    mkdirSync(join(r.run, 'p'), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ pid: 999999, command: `stack up ${'x'.repeat(300)}`, since: '2026-01-01T00:00:00.000Z' })}\n`);
    const lock = await acquireProjectLock(r, 'p', { command: 'stack down', wait: false });
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l) as LockHolder)).toEqual([expect.objectContaining({ pid: process.pid, command: 'stack down' })]);
    await lock.release();
    // A fresh file holds the line alone too.
    const again = await acquireProjectLock(r, 'p', { command: 'stack ps', wait: false });
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify({ pid: process.pid, command: 'stack ps', since: (JSON.parse(readFileSync(path, 'utf8')) as LockHolder).since })}\n`);
    await again.release();
  });

  it('the lock of a SIGKILLed holder is free at once', async () => {
    const r = roots();
    const path = lockPath(r, 'p');
    // A holder in another process: a shell takes the lock on fd 9, then becomes `sleep` (same pid).
    mkdirSync(join(r.run, 'p'), { recursive: true });
    const holder = spawn('sh', ['-c', `exec 9>>"$1"; flock -x 9; exec sleep 30`, 'sh', path], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !projectLocked(r, 'p'); i++) await new Promise((res) => setTimeout(res, 10));
    expect(projectLocked(r, 'p')).toBe(true);
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
    const lock = await acquireProjectLock(r, 'p', { command: 'stack down', wait: false });
    await lock.release();
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { WatchSession, describeChanges, type EarlyExit, type PreparedRule, type WatchActions } from '../../../src/watch/session.js';
import { FEEDBACK_STREAK } from '../../../src/watch/feedback.js';
import { watchFilter } from '../../../src/watch/filter.js';
import { BURST_QUIET_MS } from '../../../src/watch/batcher.js';
import type { WatchRule } from '../../../src/spec/project.js';

/** Verbs that record what they were asked, restarts taking `restartMs`. */
function recorder(restartMs = 0) {
  const calls: string[] = [];
  let exit: EarlyExit | undefined;
  const actions: WatchActions = {
    async restart(service, cause) {
      calls.push(`restart ${service}: ${cause}`);
      await new Promise((r) => setTimeout(r, restartMs));
    },
    async pause(service) {
      calls.push(`pause ${service}`);
    },
    async exec(service, hook) {
      calls.push(`exec ${service}: ${hook.command.join(' ')}`);
      return { exitCode: 0, output: '' };
    },
    async exitWithin() {
      return exit;
    },
    owner: () => undefined,
  };
  return { calls, actions, exitNext: (e: EarlyExit | undefined) => (exit = e) };
}

function prepared(rule: Partial<WatchRule> & { path: string }, extra: Partial<PreparedRule> = {}): PreparedRule {
  const full: WatchRule = { action: 'restart', ignore: [], include: [], initialSync: false, ...rule };
  return { service: 'web', number: 1, rule: full, isFile: false, filter: watchFilter(full, [], 't'), ...extra };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch session', () => {
  let lines: string[];
  const report = { line: (s: string, t: string) => lines.push(`${s}: ${t}`), error: (e: Error) => lines.push(`error: ${e.message}`) };
  beforeEach(() => (lines = []));

  test('a burst is one restart; changes during a restart make exactly one more', async () => {
    const { calls, actions } = recorder(500);
    const rule = prepared({ path: '/p/src' });
    const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 20 });
    for (let i = 0; i < 100; i++) session.feed(rule, { rel: `f${i}.js`, kind: 'change' });
    await sleep(BURST_QUIET_MS + 60); // a burst's batch closed, restart under way
    expect(calls).toEqual(['restart web: src/f0.js and 99 more changed']);
    session.feed(rule, { rel: 'a.js', kind: 'change' });
    await sleep(40);
    session.feed(rule, { rel: 'b.js', kind: 'change' });
    await sleep(40);
    await session.idle();
    expect(calls).toEqual(['restart web: src/f0.js and 99 more changed', 'restart web: src/a.js and 1 more changed']);
    expect(lines.filter((l) => l.includes('restarted in'))).toHaveLength(2);
    await session.close();
  });

  test('a rule whose every restart is followed by a change to the same file is suspended until another file changes', async () => {
    const { calls, actions } = recorder();
    const rule = prepared({ path: '/p' });
    const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 5 });
    session.feed(rule, { rel: 'server.js', kind: 'change' });
    await sleep(20);
    await session.idle();
    for (let i = 0; i < FEEDBACK_STREAK + 2; i++) {
      session.feed(rule, { rel: 'app.log', kind: 'change' }); // the service writing its own log
      await sleep(20);
      await session.idle();
    }
    const restarts = calls.filter((c) => c.startsWith('restart'));
    expect(restarts).toHaveLength(1 + FEEDBACK_STREAK);
    expect(lines.some((l) => l.includes('watch rule 1 suspended') && l.includes('app.log'))).toBe(true);
    session.feed(rule, { rel: 'server.js', kind: 'change' });
    await sleep(20);
    await session.idle();
    expect(lines.some((l) => l.includes('watch rule 1 resumed'))).toBe(true);
    expect(calls.filter((c) => c.startsWith('restart'))).toHaveLength(2 + FEEDBACK_STREAK);
    await session.close();
  });

  test('a service that dies right after its restart is paused; one that completes well is not', async () => {
    const { calls, actions, exitNext } = recorder();
    const rule = prepared({ path: '/p/src' });
    const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 5 });
    exitNext({ afterMs: 12, description: 'exited with code 1', success: false });
    session.feed(rule, { rel: 'a.js', kind: 'change' });
    await sleep(20);
    await session.idle();
    expect(calls).toContain('pause web');
    expect(lines.some((l) => l.includes('exited with code 1 12 ms after its restart: paused'))).toBe(true);
    exitNext({ afterMs: 5, description: 'exited with code 0', success: true });
    session.feed(rule, { rel: 'a.js', kind: 'change' });
    await sleep(20);
    await session.idle();
    expect(lines.some((l) => l.includes('started again in'))).toBe(true);
    expect(lines.some((l) => l.includes('completed (exited with code 0)'))).toBe(true);
    expect(calls.filter((c) => c === 'pause web')).toHaveLength(1);
    await session.close();
  });

  describe('with files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'stack-session-'));
      mkdirSync(join(dir, 'src'));
      mkdirSync(join(dir, 'vol'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('sync+exec copies the changes and deletions, then runs the command; no restart', async () => {
      const { calls, actions } = recorder();
      const rule = prepared(
        { path: join(dir, 'src'), action: 'sync+exec', target: '/app', exec: { command: ['kill', '-HUP', '1'], privileged: false, environment: {} } },
        { destination: { kind: 'volume', root: join(dir, 'vol'), base: '', volume: 'app' } },
      );
      writeFileSync(join(dir, 'vol', 'old.js'), 'old');
      writeFileSync(join(dir, 'src', 'new.js'), 'new');
      const session = new WatchSession([rule], actions, report, { displayRoot: dir, quietMs: 5 });
      session.feed(rule, { rel: 'new.js', kind: 'add' });
      session.feed(rule, { rel: 'old.js', kind: 'unlink' });
      await sleep(20);
      await session.idle();
      expect(readFileSync(join(dir, 'vol', 'new.js'), 'utf8')).toBe('new');
      expect(existsSync(join(dir, 'vol', 'old.js'))).toBe(false);
      expect(calls).toEqual(['exec web: kill -HUP 1']);
      expect(lines.some((l) => /synced 2 in \d+ ms/.test(l))).toBe(true);
      await session.close();
    });
  });

  test('causes name the first file and how many more', () => {
    expect(describeChanges([{ path: 'src/a.js', deleted: false }])).toBe('src/a.js changed');
    expect(describeChanges([{ path: 'src/a.js', deleted: true }])).toBe('src/a.js deleted');
    expect(describeChanges([{ path: 'a', deleted: false }, { path: 'b', deleted: true }])).toBe('a and 1 more changed');
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { WatchSession, describeChanges, type EarlyExit, type PreparedRule, type WatchActions } from '../../../src/watch/session.js';
import { FEEDBACK_STREAK } from '../../../src/watch/feedback.js';
import { watchFilter } from '../../../src/watch/filter.js';
import { BURST_QUIET_MS } from '../../../src/watch/batcher.js';
import { fakeClock } from '../../harness/fake-clock.js';
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

/** One change to server.js, then the service writing its own log after each action, past the feedback guard's streak. */
async function feedbackStreak(session: WatchSession, rule: PreparedRule): Promise<void> {
  session.feed(rule, { rel: 'server.js', kind: 'change' });
  await sleep(20);
  await session.idle();
  for (let i = 0; i < FEEDBACK_STREAK + 2; i++) {
    session.feed(rule, { rel: 'app.log', kind: 'change' });
    await sleep(20);
    await session.idle();
  }
}

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

  test("a deleted file created again up to five quiet windows later (an editor's save on a busy machine) is one restart", async () => {
    const clock = fakeClock();
    const { calls, actions } = recorder();
    const rule = prepared({ path: '/p/src' });
    const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 50, clock });
    session.feed(rule, { rel: 'server.js', kind: 'unlink' });
    clock.advance(249); // the create's event comes late: 199 ms past the window of 50
    session.feed(rule, { rel: 'server.js', kind: 'add' });
    clock.advance(50);
    await session.idle();
    expect(calls.filter((c) => c.startsWith('restart'))).toEqual(['restart web: src/server.js changed']);
    // A folder removed is waited on as long; a plain change closes after one window.
    session.feed(rule, { rel: 'lib', kind: 'unlinkDir' });
    clock.advance(249);
    session.feed(rule, { rel: 'lib', kind: 'addDir' });
    session.feed(rule, { rel: 'lib/a.js', kind: 'add' });
    clock.advance(50);
    await session.idle();
    expect(calls.filter((c) => c.startsWith('restart'))).toHaveLength(2);
    session.feed(rule, { rel: 'server.js', kind: 'change' });
    clock.advance(50);
    await session.idle();
    expect(calls.filter((c) => c.startsWith('restart'))).toHaveLength(3);
    await session.close();
  });

  test('a rule whose every restart is followed by a change to the same file is suspended until another file changes', async () => {
    const { calls, actions } = recorder();
    const rule = prepared({ path: '/p' });
    const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 5 });
    await feedbackStreak(session, rule);
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
        { destination: { kind: 'volume', roots: [join(dir, 'vol')], base: '', volume: 'app' } },
      );
      writeFileSync(join(dir, 'vol', 'old.js'), 'old');
      writeFileSync(join(dir, 'src', 'new.js'), 'new');
      const session = new WatchSession([rule], actions, report, { displayRoot: dir, quietMs: 5 });
      session.feed(rule, { rel: 'new.js', kind: 'add' });
      session.feed(rule, { rel: 'old.js', kind: 'unlink' });
      await sleep(40); // a deletion last: the batch waits five quiet windows (batcher.ts LINGER_WINDOWS)
      await session.idle();
      expect(readFileSync(join(dir, 'vol', 'new.js'), 'utf8')).toBe('new');
      expect(existsSync(join(dir, 'vol', 'old.js'))).toBe(false);
      expect(calls).toEqual(['exec web: kill -HUP 1']);
      expect(lines.some((l) => /synced 2 in \d+ ms/.test(l))).toBe(true);
      await session.close();
    });
    test("a scaled service's anonymous volume: each replica's folder gets the copies and the deletions", async () => {
      const { actions } = recorder();
      mkdirSync(join(dir, 'vol2'));
      const rule = prepared({ path: join(dir, 'src'), action: 'sync', target: '/app' }, { destination: { kind: 'volume', roots: [join(dir, 'vol'), join(dir, 'vol2')], base: '', volume: 'anonymous volume at /app' } });
      for (const v of ['vol', 'vol2']) writeFileSync(join(dir, v, 'old.js'), 'old');
      writeFileSync(join(dir, 'src', 'new.js'), 'new');
      const session = new WatchSession([rule], actions, report, { displayRoot: dir, quietMs: 5 });
      session.feed(rule, { rel: 'new.js', kind: 'add' });
      session.feed(rule, { rel: 'old.js', kind: 'unlink' });
      await sleep(40); // a deletion last: the batch waits five quiet windows (batcher.ts LINGER_WINDOWS)
      await session.idle();
      for (const v of ['vol', 'vol2']) {
        expect(readFileSync(join(dir, v, 'new.js'), 'utf8')).toBe('new');
        expect(existsSync(join(dir, v, 'old.js'))).toBe(false);
      }
      expect(lines.some((l) => /synced 2 in \d+ ms/.test(l))).toBe(true);
      await session.close();
    });
  });

  describe('a restart begun at the first change (beginRestart)', () => {
    /** The recorder's verbs plus beginRestart, whose stop and start are recorded with their time. */
    function early(restartMs = 0) {
      const base = recorder(restartMs);
      const t0 = Date.now();
      const actions: WatchActions = {
        ...base.actions,
        async beginRestart(service) {
          base.calls.push(`stop ${service} at ${Date.now() - t0}`);
          return {
            async finish(cause) {
              base.calls.push(`start ${service}: ${cause}`);
            },
          };
        },
      };
      return { ...base, actions };
    }

    test('the stop begins with the first change, inside the quiet window; the start follows the window, once per batch', async () => {
      const { calls, actions } = early();
      const rule = prepared({ path: '/p/src' });
      const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 200 });
      session.feed(rule, { rel: 'a.js', kind: 'change' });
      session.feed(rule, { rel: 'b.js', kind: 'change' });
      await sleep(50);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatch(/^stop web at \d+$/);
      expect(Number(calls[0]!.split(' ').pop())).toBeLessThan(200); // not after the window
      await sleep(250);
      await session.idle();
      expect(calls.slice(1)).toEqual(['start web: src/a.js and 1 more changed']);
      expect(lines.filter((l) => l.includes('restarted in'))).toHaveLength(1);
      await session.close();
      expect(calls).toHaveLength(2); // nothing begun since
    });

    test('changes during the restart make one more, begun after it (not during it)', async () => {
      const { calls, actions } = early();
      let release: () => void = () => undefined;
      const slow: WatchActions = {
        ...actions,
        async beginRestart(service) {
          const begun = await actions.beginRestart!(service);
          return { finish: async (cause) => { await new Promise<void>((r) => (release = r)); await begun.finish(cause); } };
        },
      };
      const rule = prepared({ path: '/p/src' });
      const session = new WatchSession([rule], slow, report, { displayRoot: '/p', quietMs: 10 });
      session.feed(rule, { rel: 'a.js', kind: 'change' });
      await sleep(40); // closed: the start waits for release()
      session.feed(rule, { rel: 'b.js', kind: 'change' }); // lands during the restart
      await sleep(40);
      expect(calls.filter((c) => c.startsWith('stop'))).toHaveLength(1);
      release();
      await sleep(40);
      release();
      await session.idle();
      // Busy when b.js came: its restart is a whole one after the first (stop and start after its window).
      expect(calls.map((c) => c.replace(/ at \d+$/, ''))).toEqual(['stop web', 'start web: src/a.js changed', 'restart web: src/b.js changed']);
      await session.close();
    });

    test('a batch the feedback guard may hold back is not stopped early: no stop for a batch that suspends the rule', async () => {
      const { calls, actions } = early();
      const rule = prepared({ path: '/p' });
      const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 5 });
      await feedbackStreak(session, rule);
      // The batch that makes the streak was foreseen (mayHold): not begun early, so never stopped for nothing.
      expect(calls.filter((c) => c.startsWith('stop'))).toHaveLength(1 + FEEDBACK_STREAK);
      expect(calls.filter((c) => c.startsWith('start'))).toHaveLength(1 + FEEDBACK_STREAK);
      expect(calls.filter((c) => c.startsWith('restart'))).toHaveLength(0);
      expect(lines.filter((l) => l.includes('restarted in'))).toHaveLength(1 + FEEDBACK_STREAK);
      expect(lines.some((l) => l.includes('watch rule 1 suspended'))).toBe(true);
      await session.close();
    });

    test('closing the session with a batch open starts the stopped service again', async () => {
      const { calls, actions } = early();
      const rule = prepared({ path: '/p/src' });
      const session = new WatchSession([rule], actions, report, { displayRoot: '/p', quietMs: 1000 });
      session.feed(rule, { rel: 'a.js', kind: 'change' });
      await sleep(20);
      await session.close();
      expect(calls.map((c) => c.replace(/ at \d+$/, ''))).toEqual(['stop web', 'start web: watch stopped']);
      expect(lines.filter((l) => l.includes('restarted in'))).toHaveLength(0);
    });
  });

  test('causes name the first file and how many more', () => {
    expect(describeChanges([{ path: 'src/a.js', deleted: false }])).toBe('src/a.js changed');
    expect(describeChanges([{ path: 'src/a.js', deleted: true }])).toBe('src/a.js deleted');
    expect(describeChanges([{ path: 'a', deleted: false }, { path: 'b', deleted: true }])).toBe('a and 1 more changed');
  });
});

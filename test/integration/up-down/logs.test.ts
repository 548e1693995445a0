// `stack logs` through the real CLI: every service's output in time order with `name |`
// prefixes, -t, --tail, -f following new lines, and a misspelt service named with a suggestion.
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { Rig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
});

/** Waits until `stack logs` (no follow) prints a line matching `pattern`. */
async function eventually(r: Rig, args: string[], pattern: RegExp): Promise<string> {
  const until = Date.now() + 15_000;
  for (;;) {
    const out = await r.stack(['logs', ...args]);
    if (pattern.test(out.stdout)) return out.stdout;
    if (Date.now() > until) throw new Error(`stack logs never printed ${pattern}:\n${out.stdout}\n${out.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeRoot('stack logs', () => {
  it('prints every service, prefixed, in time order; -t, --tail, -f; a misspelt service gets a suggestion', async () => {
    const r = new Rig();
    rigs.push(r);
    r.spec(`  one:
    command: ["sh", "-c", "echo one-a; sleep 0.3; echo one-b; sleep 3600"]
  two:
    command: ["sh", "-c", "sleep 0.15; echo two-a; while sleep 0.2; do echo tick; done"]
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const all = await eventually(r, ['--no-log-prefix', 'one', 'two'], /one-b/);
    const order = all.split('\n').filter((l) => /^(one-|two-a)/.test(l));
    expect(order).toEqual(['one-a', 'two-a', 'one-b']);

    const prefixed = await r.ok(['logs', 'one']);
    expect(prefixed.stdout).toMatch(/^one\s+\| one-a$/m);
    expect(prefixed.stdout).not.toMatch(/tick/);
    const stamped = await r.ok(['logs', '-t', '--tail', '1', 'one']);
    expect(stamped.stdout.trim()).toMatch(/^one\s+\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z one-b$/);

    const follow = r.start(['logs', '-f', '--tail', '0', 'two']);
    let seen = '';
    follow.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    const until = Date.now() + 10_000;
    while (!/tick/.test(seen) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    follow.kill('SIGINT');
    const ended = await follow;
    expect(seen).toMatch(/^two\s+\| tick$/m);
    expect(seen).not.toMatch(/two-a/); // --tail 0, then only what came after
    expect(ended.exitCode).toBe(0);

    const wrong = await r.stack(['logs', 'tow']);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('did you mean two?');
  });

  it('--since and --until choose lines by their time (an RFC 3339 time, a Unix time, a duration back from now)', async () => {
    const r = new Rig();
    rigs.push(r);
    r.spec(`  one:
    command: ["sh", "-c", "echo early; sleep 1.2; echo late; sleep 3600"]
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const stamped = await eventually(r, ['-t', '--no-log-prefix', 'one'], /late$/m);
    const timeOf = (word: string): string => stamped.split('\n').find((l) => l.endsWith(` ${word}`))!.split(' ')[0]!;
    const [early, late] = [timeOf('early'), timeOf('late')];
    expect(early < late).toBe(true);
    // A time between the two lines: the log files' times, to the millisecond, in RFC 3339 and as a Unix time.
    const between = new Date((Date.parse(early) + Date.parse(late)) / 2);
    const lines = async (...args: string[]) => (await r.ok(['logs', '--no-log-prefix', ...args, 'one'])).stdout.trim().split('\n');
    expect(await lines('--since', between.toISOString())).toEqual(['late']);
    expect(await lines('--until', between.toISOString())).toEqual(['early']);
    expect(await lines('--since', String(between.getTime() / 1000))).toEqual(['late']);
    expect(await lines('--since', '10m')).toEqual(['early', 'late']);
    expect(await lines('--since', early, '--until', early)).toEqual(['early']); // both ends included
    // --tail first, then the times choose among those lines (Docker's order).
    expect((await r.ok(['logs', '--no-log-prefix', '--tail', '1', '--until', between.toISOString(), 'one'])).stdout).toBe('');
    // -f with --until in the past prints and ends at once; in the future, it ends then.
    const past = await r.stack(['logs', '-f', '--no-log-prefix', '--until', between.toISOString(), 'one']);
    expect([past.exitCode, past.stdout.trim()]).toEqual([0, 'early']);
    const started = Date.now();
    const soon = await r.stack(['logs', '-f', '--no-log-prefix', '--until=-2s', 'one']); // 1-2 s from now (cut to the whole second)
    expect([soon.exitCode, soon.stdout.trim()]).toEqual([0, 'early\nlate']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const bad = await r.stack(['logs', '--since', 'yesterday', 'one']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--since wants a time, not "yesterday"');
    expect(bad.stderr).toContain('--since 42m');
  });
});

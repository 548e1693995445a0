// Foreground `stack up`: each service's output streams with a `name |` prefix; Ctrl-C stops the
// services gracefully (their stop signal, then their exit) and keeps the networks for the next
// `up`; `down` then removes the rest. And `stack down` interrupted: Ctrl-C once the teardown
// began lets it go on to its end, and a second kills the services still stopping.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';
import { bridgeName } from '../../../src/names.js';
import { Rig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
});

/** A rig cleaned up after the test. */
function rig(): Rig {
  const r = new Rig();
  rigs.push(r);
  return r;
}

/** What `stream` wrote so far, and a wait (up to 6 s) until that holds `text`. */
function collected(stream: NodeJS.ReadableStream | null | undefined): { text(): string; until(...texts: string[]): Promise<void> } {
  let out = '';
  stream?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    text: () => out,
    until: async (...texts) => {
      for (let i = 0; i < 300 && !texts.every((t) => out.includes(t)); i++) await new Promise((res) => setTimeout(res, 20));
    },
  };
}

describeRoot('foreground stack up', () => {
  it('streams prefixed output; Ctrl-C stops the services and keeps the network', async () => {
    const r = rig();
    // `talker` handles SIGTERM (says so and exits); `sleeper` cannot (pid 1, no handler): killed at once.
    r.spec(`  talker:
    command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo hello from talker; while :; do sleep 0.1; done"]
  sleeper:
    command: sleep 3600
`, 'networks:\n  spare: {}\n'); // declared, used by no service: not made, as compose makes none
    const up = r.start(['up', '--progress', 'plain']);
    const out = collected(up.stdout);
    await out.until('hello from talker');
    expect(out.text()).toMatch(/^talker +\| hello from talker$/m);
    const allocation = () => readFileSync(join(r.roots.run, r.name, 'ipam.json'), 'utf8');
    const before = allocation();
    up.kill('SIGINT');
    const result = await up;
    expect(result.exitCode).toBe(130);
    expect(String(result.stderr)).toContain('Gracefully stopping');
    expect(String(result.stdout)).toMatch(/^talker +\| got TERM$/m);
    expect((await r.record('talker'))?.process).toBeNull();
    expect((await r.record('sleeper'))?.process).toBeNull();
    expect(existsSync(`/sys/class/net/${bridgeName(r.name, 'default')}`)).toBe(true);
    // The stops change no address: each network keeps its subnet, each service its address.
    expect(allocation()).toBe(before);
    expect(allocation()).not.toContain('"spare"');
    expect(existsSync(`/sys/class/net/${bridgeName(r.name, 'spare')}`)).toBe(false);
    await r.ok(['down']);
    expect(r.leftovers(['talker', 'sleeper'], ['default', 'spare'])).toEqual([]);
  });

  it('a second Ctrl-C kills what is still stopping', async () => {
    const r = rig();
    // It catches TERM and carries on: a graceful stop would wait out its 120 s grace period.
    r.spec(`  stubborn:
    command: ["sh", "-c", "trap 'echo not yet' TERM; echo ready; while :; do sleep 0.1; done"]
    stop_grace_period: 120s
`);
    const up = r.start(['up', '--progress', 'plain']);
    const out = collected(up.stdout);
    await out.until('ready');
    const pid = await r.pid('stubborn');
    up.kill('SIGINT');
    await out.until('not yet');
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    up.kill('SIGINT');
    const result = await up;
    expect(result.exitCode).toBe(130);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await r.record('stubborn'))?.process).toBeNull();
  });

  it('--attach, --no-attach, --no-log-prefix and --timestamps shape what it prints, as compose', async () => {
    const r = rig();
    const talker = (name: string) => `  ${name}:\n    command: ["sh", "-c", "echo from ${name}; while :; do sleep 0.1; done"]\n`;
    r.spec(talker('a') + talker('b') + talker('c') + '    attach: false\n');
    // c has attach: false, but --attach names it; b is named too, then left out by --no-attach.
    const up = r.start(['up', '--progress', 'plain', '--attach', 'a', '--attach', 'b', '--attach', 'c', '--no-attach', 'b', '--no-log-prefix', '--timestamps']);
    const out = collected(up.stdout);
    await out.until('from a', 'from c');
    await new Promise((res) => setTimeout(res, 200)); // b's line, were it printed, would be there by now
    up.kill('SIGINT');
    expect((await up).exitCode).toBe(130);
    expect(out.text()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* from a$/m);
    expect(out.text()).toMatch(/^\S+ from c$/m);
    expect(out.text()).not.toContain('from b');
    expect(out.text()).not.toContain('|');
    const bad = await r.stack(['up', '--attach', 'd']);
    expect(bad.exitCode).toBe(1);
    expect(String(bad.stderr)).toContain('has no service "d"');
  });
});

describeRoot('stack down, interrupted', () => {
  it('a first Ctrl-C lets the teardown go on, a second kills what is still stopping; nothing is left', async () => {
    const r = rig();
    // `stubborn` catches TERM and carries on: its stop would wait out its 120 s grace period.
    r.spec(`  stubborn:
    command: ["sh", "-c", "trap 'echo not yet' TERM; echo ready; while :; do sleep 0.1; done"]
    stop_grace_period: 120s
  quick:
    command: sleep 3600
`);
    await r.ok(['up', '-d', '--progress', 'plain']);
    const pid = await r.pid('stubborn');
    const down = r.start(['down', '--progress', 'plain']);
    const err = collected(down.stderr);
    // The stop writes its mark right before its signal; the service logs the signal it caught.
    await eventually('stubborn to catch its SIGTERM', async () => ((await r.stack(['logs', 'stubborn'])).stdout.includes('not yet') ? true : undefined), 10_000);
    down.kill('SIGINT');
    await eventually('the notice of the first Ctrl-C', () => (err.text().includes('the teardown goes on') ? true : undefined), 5000);
    // The first killed nothing and ended nothing: the teardown waits on.
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(down.exitCode).toBeNull();
    down.kill('SIGINT');
    const result = await down;
    expect({ code: result.exitCode, signal: result.signal }).toEqual({ code: 130, signal: undefined });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(r.leftovers(['stubborn', 'quick'])).toEqual([]);
    expect(existsSync(join(r.roots.run, r.name))).toBe(false);
  }, 60_000);
});

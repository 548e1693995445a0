// `stack down` interrupted: Ctrl-C (SIGINT) once the teardown began lets it go on to its end,
// and a second kills the services still stopping; nothing of the project is left either way.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';
import { Rig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
});

describeRoot('stack down, interrupted', () => {
  it('a first Ctrl-C lets the teardown go on, a second kills what is still stopping; nothing is left', async () => {
    const r = new Rig();
    rigs.push(r);
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
    let err = '';
    down.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    // The stop writes its mark right before its signal; the service logs the signal it caught.
    await eventually('stubborn to catch its SIGTERM', async () => ((await r.stack(['logs', 'stubborn'])).stdout.includes('not yet') ? true : undefined), 10_000);
    down.kill('SIGINT');
    await eventually('the notice of the first Ctrl-C', () => (err.includes('the teardown goes on') ? true : undefined), 5000);
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

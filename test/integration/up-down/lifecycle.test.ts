// The verbs of every day through the real CLI (bin/stack.cjs over dist/: `npm run build` first):
// stop / start / restart / kill, `up SERVICE...` with --no-deps, --force-recreate, --wait and
// --exit-code-from, and unknown service names refused. Checked by state (records, pids, logs,
// the supervisor's log), never by a fixed sleep; `down` at the end leaves nothing.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import { serviceFiles } from '../../../src/state/service-files.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { serviceStatePaths, supervisorPaths } from '../../../src/supervisor/paths.js';
import { rigPerTest } from './rig.js';
import { eventually } from '../../harness/eventually.js';

const rig = rigPerTest();

/** A node program that logs `ready`, says which signals it got, and exits 0 on SIGTERM. */
const NODE = (extra = '') =>
  `["node", "-e", "process.on('SIGTERM', () => process.exit(0)); process.on('SIGUSR1', () => console.log('got SIGUSR1')); ${extra} console.log('ready'); setInterval(() => {}, 1000)"]`;

/** db (restart: always) <- api (restart: true) ; db <- worker (no restart) */
const THREE = `  db:
    command: ${NODE()}
    restart: always
  api:
    command: ${NODE()}
    depends_on:
      db: { condition: service_started, restart: true }
  worker:
    command: ${NODE()}
    depends_on: [db]
`;

describeWith({ root: true, commands: ['node'] }, 'stack stop / start / restart / kill / up SERVICE', () => {
  it('stop keeps a restart: always service stopped; start starts it again, not recreated; restart: a new pid, restart: true dependents follow', async () => {
    const r = rig();
    r.spec(THREE);
    await r.ok(['up', '-d', '--progress', 'plain']);
    const db1 = await r.pid('db');
    const api1 = await r.pid('api');
    const worker1 = await r.pid('worker');
    const stamp = (await r.record('db'))?.config?.hash;

    const stop = await r.ok(['stop', 'db', '--progress', 'plain']);
    expect(stop.stderr).toContain('stack stop');
    expect((await r.record('db'))?.process).toBeNull();
    // `ps` makes the supervisor run a tick first: its restart policy leaves db stopped.
    for (let i = 0; i < 2; i++) expect((await r.ok(['ps'])).stdout).toMatch(/^db\s+(stopped|exited[^\n]*?)\s+-\s+-\s/m);
    expect((await r.record('db'))?.process).toBeNull();
    expect(isSameProcess(api1, (await r.record('api'))!.process!.startTime)).toBe(true);

    const start = await r.ok(['start', 'db', '--progress', 'plain']);
    expect(start.stderr).toContain('stack start');
    const db2 = await r.pid('db');
    expect(db2).not.toBe(db1);
    expect((await r.record('db'))?.config?.hash).toBe(stamp);
    expect((await r.ok(['plan'])).stdout.trim()).toBe('nothing to do');

    const restart = await r.ok(['restart', 'db', '--progress', 'plain']);
    expect(restart.stderr).toContain('db restarted');
    const db3 = await r.pid('db');
    expect(db3).not.toBe(db2);
    expect(await r.pid('api')).not.toBe(api1);
    expect(await r.pid('worker')).toBe(worker1);
    expect((await r.record('db'))?.config?.hash).toBe(stamp);

    // --no-deps: only db.
    const api2 = await r.pid('api');
    await r.ok(['restart', '--no-deps', 'db', '--progress', 'plain']);
    expect(await r.pid('db')).not.toBe(db3);
    expect(await r.pid('api')).toBe(api2);

    // No name: everything stops, and start brings everything back.
    await r.ok(['stop', '--progress', 'plain']);
    for (const s of ['db', 'api', 'worker']) expect((await r.record(s))?.process).toBeNull();
    await r.ok(['start', '--progress', 'plain']);
    for (const s of ['db', 'api', 'worker']) expect((await r.record(s))?.process).not.toBeNull();

    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['db', 'api', 'worker'])).toEqual([]);
  });

  it('kill -s SIGUSR1 reaches the handler; kill (SIGKILL) is not restarted, a signal that ends it otherwise is', async () => {
    const r = rig();
    r.spec(`  a:
    command: ${NODE("process.on('SIGUSR2', () => process.exit(3));")}
    restart: always
`);
    await r.ok(['up', '-d', '--progress', 'plain']);
    const log = serviceFiles(r.roots, r.name, 'a').log;
    await eventually('a ready', () => readLogLines(log).some((l) => l.text === 'ready'));
    const a1 = await r.pid('a');

    await r.ok(['kill', '-s', 'SIGUSR1', 'a']);
    await eventually('the handler to run', () => readLogLines(log).some((l) => l.text === 'got SIGUSR1'));
    expect(await r.pid('a')).toBe(a1);

    // A signal that is not a stop: the process ends (exit 3) and restart: always restarts it.
    await r.ok(['kill', '-s', 'USR2', 'a']);
    const a2 = await eventually('a restarted by its policy', async () => {
      const p = (await r.record('a'))?.process;
      return p && p.pid !== a1 && isSameProcess(p.pid, p.startTime) ? p.pid : undefined;
    });

    // SIGKILL (the default) counts as stopped by the user, as Docker: not restarted.
    const killed = await r.ok(['kill', 'a']);
    expect(killed.stderr).toContain('SIGKILL');
    const sup = supervisorPaths(r.roots, r.name).log;
    await eventually('the supervisor to leave a stopped', () => readFileSync(sup, 'utf8').includes('a: killed by SIGKILL; stopped by the user, not restarted'));
    expect((await r.record('a'))?.process?.pid).toBe(a2);
    expect((await r.ok(['ps'])).stdout).toMatch(/a\s+killed by SIGKILL/);

    // start brings it back.
    await r.ok(['start', 'a', '--progress', 'plain']);
    expect(await r.pid('a')).not.toBe(a2);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['a'])).toEqual([]);
  });

  it('up SERVICE starts it and its dependencies only; --no-deps; --force-recreate gives an unchanged service a new pid', async () => {
    const r = rig();
    r.spec(`${THREE}  lone:
    command: sleep 3600
`);
    const up = await r.ok(['up', '-d', 'api', '--progress', 'plain']);
    expect(up.stderr).not.toContain('worker');
    expect(await r.record('worker')).toBeUndefined();
    expect(await r.record('lone')).toBeUndefined();
    const db1 = await r.pid('db');
    const api1 = await r.pid('api');

    await r.ok(['stop', 'db', 'api', '--progress', 'plain']);
    await r.ok(['up', '-d', '--no-deps', 'api', '--progress', 'plain']);
    expect((await r.record('db'))?.process).toBeNull();
    expect(await r.pid('api')).not.toBe(api1);

    await r.ok(['up', '-d', 'db', '--progress', 'plain']);
    const db2 = await r.pid('db');
    expect(db2).not.toBe(db1);
    const api2 = await r.pid('api');
    const forced = await r.ok(['up', '-d', '--force-recreate', '--no-deps', 'db', '--progress', 'plain']);
    expect(forced.stderr).toContain('forced recreate');
    expect(await r.pid('db')).not.toBe(db2);
    expect(await r.pid('api')).not.toBe(api2); // restart: true follows the recreate
    expect(await r.record('lone')).toBeUndefined();

    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['db', 'api', 'worker', 'lone'])).toEqual([]);
  });

  it('up --wait returns once healthy; --exit-code-from returns that service\'s exit code', async () => {
    const r = rig();
    r.spec(`  slow:
    command: ["node", "-e", "setTimeout(() => require('fs').writeFileSync('/tmp/ready', '1'), 1000); setInterval(() => {}, 1000)"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
  job:
    command: ["sh", "-c", "sleep 0.3; exit 7"]
  forever:
    command: ["sleep", "3600"]
`);
    const waited = await r.ok(['up', '--wait', 'slow', '--progress', 'plain']);
    expect(waited.exitCode).toBe(0);
    const health = JSON.parse(readFileSync(serviceStatePaths(r.roots, r.name, 'slow').health, 'utf8')) as { status: string };
    expect(health.status).toBe('healthy');

    const run = await r.stack(['up', '--exit-code-from', 'job', 'job', 'forever', '--progress', 'plain']);
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toContain('job exited with code 7');
    expect((await r.record('forever'))?.process).toBeNull();
    // slow was not part of that up: still running.
    const slow = (await r.record('slow'))?.process;
    expect(slow && isSameProcess(slow.pid, slow.startTime)).toBe(true);

    const both = await r.stack(['up', '--wait', '--abort-on-container-exit']);
    expect(both.exitCode).toBe(1);

    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['slow', 'job', 'forever'])).toEqual([]);
  });

  it('unknown service names exit 1 with a suggestion, and change nothing', async () => {
    const r = rig();
    r.spec(THREE);
    await r.ok(['up', '-d', '--progress', 'plain']);
    const before = await Promise.all(['db', 'api', 'worker'].map((s) => r.pid(s)));
    for (const verb of ['restart', 'stop', 'start', 'kill', 'up']) {
      const res = await r.stack([verb, 'dbb']);
      expect(res.exitCode, `${verb}: ${res.stderr}`).toBe(1);
      expect(res.stderr).toContain('no service "dbb"');
      expect(res.stderr).toContain('did you mean "db"?');
    }
    expect(await Promise.all(['db', 'api', 'worker'].map((s) => r.pid(s)))).toEqual(before);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['db', 'api', 'worker'])).toEqual([]);
  });
});

// `stack ps` through the real CLI: state and pid from the kernel, health, restarts and ports
// from the supervisor; a killed service shows as exited; after down, nothing.
import { existsSync, readFileSync } from 'node:fs';
import { freePort } from '../../harness/ports.js';
import { supervisorPaths } from '../../../src/supervisor/paths.js';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { Rig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
});

interface Row {
  name: string;
  state: string;
  health: string | null;
  pid: number | null;
  restarts: number;
  ports: string[];
}

describeRoot('stack ps', () => {
  it('lists each service with its state, pid, health and ports; a killed one as exited; none after down', async () => {
    const r = new Rig();
    rigs.push(r);
    const port = await freePort();
    r.spec(`  web:
    command: ["node", "-e", "require('net').createServer(s => s.end('hi')).listen(80); process.on('SIGTERM', () => process.exit(0))"]
    ports: ["${port}:80"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 100ms
  idle:
    command: sleep 3600
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const ps = async (): Promise<Row[]> => JSON.parse((await r.ok(['ps', '--format', 'json'])).stdout) as Row[];
    let rows = await ps();
    for (let i = 0; i < 100 && rows.find((x) => x.name === 'web')?.health !== 'healthy'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await ps();
    }
    const web = rows.find((x) => x.name === 'web')!;
    expect(web).toMatchObject({ state: 'running', health: 'healthy', pid: await r.pid('web'), restarts: 0 });
    expect(web.ports).toEqual([expect.stringContaining(`127.0.0.1:${port}/tcp->`)]);
    expect(rows.find((x) => x.name === 'idle')).toMatchObject({ state: 'running', health: null, pid: await r.pid('idle') });

    process.kill(await r.pid('idle'), 'SIGKILL');
    for (let i = 0; i < 50 && (await ps()).find((x) => x.name === 'idle')!.state === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await ps()).find((x) => x.name === 'idle')).toMatchObject({ pid: null });
    expect((await ps()).find((x) => x.name === 'idle')!.state).not.toBe('running');

    const table = await r.ok(['ps']);
    expect(table.stdout).toMatch(/^NAME\s+STATE\s+HEALTH\s+PID\s+RESTARTS\s+PORTS$/m);
    expect(table.stdout).toMatch(/^web\s+running\s+healthy\s+\d+\s+0\s+127\.0\.0\.1:/m);

    await r.ok(['down', '--progress', 'quiet']);
    expect(await ps()).toEqual([]);
  });

  it('warns when the supervisor does not run, until up starts it again', async () => {
    const r = new Rig();
    rigs.push(r);
    r.spec('  idle:\n    command: sleep 3600\n');
    await r.ok(['up', '-d', '--progress', 'quiet']);
    expect((await r.ok(['ps'])).stderr).toBe('');
    // Gone as one that failed at its start would be (`up` does not wait for it).
    const { pid } = JSON.parse(readFileSync(supervisorPaths(r.roots, r.name).pidFile, 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); i++) await new Promise((res) => setTimeout(res, 20));
    const warned = await r.ok(['ps']);
    expect(warned.stderr).toContain(`warning: the supervisor of project ${r.name} does not run or does not answer`);
    expect(warned.stdout).toContain('idle');
    await r.ok(['up', '-d', '--progress', 'quiet']);
    expect((await r.ok(['ps'])).stderr).toBe('');
  });

  it('says nothing of the supervisor of a project stopped on purpose (a Ctrl-C of up), which stopped with it', async () => {
    const r = new Rig();
    rigs.push(r);
    r.spec('  ticker:\n    command: ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]\n');
    const up = r.start(['up']);
    let out = '';
    up.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 200 && !out.includes('tick'); i++) await new Promise((res) => setTimeout(res, 25));
    expect(out).toContain('tick');
    up.kill('SIGINT');
    const ended = await up;
    expect(String(ended.stderr)).toContain('Gracefully stopping');
    expect(existsSync(supervisorPaths(r.roots, r.name).pidFile)).toBe(false); // stopped with the services
    const quiet = await r.ok(['ps', '-a']);
    expect(quiet.stderr).toBe('');
    // How it ended, from its exit record (the supervisor that knew is gone): sh as pid 1 has no
    // SIGTERM handler, so the stop killed it at once.
    expect(quiet.stdout).toMatch(/^ticker\s+killed by SIGKILL\s/m);
  });
});

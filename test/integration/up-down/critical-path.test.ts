// What `up` moved off its critical path (issue 11) keeps its guarantees: the firewall of a new
// network, written while the services' namespaces and cgroups are made, is written before any
// of them is launched (a failed rewrite launches nothing and fails the run); the supervisor `up`
// starts on standby while the spec loads is the one that serves, found like any supervisor, and
// one `up` does not need leaves.
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';
import { supervisorProcesses } from '../../../src/executor/supervisor-procs.js';
import { supervisorPaths } from '../../../src/supervisor/paths.js';
import { isSameProcess } from '../../../src/sys/proc.js';
import { networkRecords } from '../../../src/state/records.js';
import { FIREWALL_PENDING } from '../../../src/planner/hash.js';
import { nftTableName } from '../../../src/names.js';
import { rigPerTest, type Rig } from './rig.js';

const rig = rigPerTest();

/** The pid of the project's supervisor, from its pid file. */
function supervisorPid(r: Rig): number {
  return (JSON.parse(readFileSync(supervisorPaths(r.roots, r.name).pidFile, 'utf8')) as { pid: number }).pid;
}

/**
 * Pids of processes started on standby (`… supervisor.cjs --standby`) whose output is this rig's
 * standby log: the project's supervisor when it was started so, and any standby not handed one.
 */
function standbysOf(r: Rig): number[] {
  const log = join(r.roots.run, '.supervisor-standby.log');
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('--standby') && readlinkSync(`/proc/${p}/fd/1`) === log;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describeRoot('up: what runs beside the walk', () => {
  it('launches nothing when the firewall of its new network cannot be written, and says why', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    // An nft that fails: the rewrite create-network leaves running fails after the bridge is made.
    const bin = join(r.dir, 'fake-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'nft'), '#!/bin/sh\necho "nft: refused by the test" >&2\nexit 1\n');
    chmodSync(join(bin, 'nft'), 0o755);
    const up = await r.stack(['up', '-d', '--progress', 'plain'], { PATH: `${bin}:${process.env.PATH ?? ''}` });
    expect(up.exitCode).not.toBe(0);
    expect(up.stderr).toContain('refused by the test');
    // Its start waited for the firewall: no process was launched, none is recorded.
    expect((await r.record('web'))?.process ?? null).toBeNull();
    expect(r.leftovers(['web']).filter((l) => l.startsWith('cgroup') && l.includes('/web'))).toEqual([]);
    // The network stays recorded as not firewalled: the next up (the real nft) recreates it,
    // which writes the firewall, and starts the service.
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config).toEqual(FIREWALL_PENDING);
    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('its firewall was not written');
    expect(r.leftovers(['web'])).toContain(`nft ${nftTableName(r.name)}`);
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config.hash).not.toBe(FIREWALL_PENDING.hash);
    expect(isSameProcess(await r.pid('web'), (await r.record('web'))!.process!.startTime)).toBe(true);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it('a run cut off once its bridge is made leaves the network recorded as not firewalled: the next up recreates it, firewall and all', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    expect((await r.stack(['up', '-d'], { STACK_TEST_CRASH_AT: 'create-network:default' })).signal).toBe('SIGKILL');
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config).toEqual(FIREWALL_PENDING);
    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('its firewall was not written');
    expect(r.leftovers(['web'])).toContain(`nft ${nftTableName(r.name)}`);
    expect(await r.pid('web')).toBeGreaterThan(0);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it('down removes two networks side by side and leaves neither firewall rule nor table behind', async () => {
    // Each network's firewall rewrite leaves out every network the run removes: else the last
    // one wrote the other back (its record still there) and the nft table outlived the project.
    const r = rig();
    r.spec('  a:\n    command: ["sleep", "3600"]\n    networks: [front, back]\n  b:\n    command: ["sleep", "3600"]\n    networks: [back]\n', 'networks:\n  front: {}\n  back: {}\n');
    await r.ok(['up', '-d', '--progress', 'plain']);
    expect(r.leftovers(['a', 'b'], ['front', 'back'])).toContain(`nft ${nftTableName(r.name)}`);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['a', 'b'], ['front', 'back'])).toEqual([]);
  });

  it('hands a fresh project to the supervisor it started on standby, which down stops like any other', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    const fresh = await r.ok(['up', '-d', '--progress', 'plain'], { STACK_TRACE: '1' });
    expect(fresh.stderr).toContain('standby: starting');
    const pid = supervisorPid(r);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--standby');
    // Known by the log it holds open: down's and gc's search for strays finds it.
    expect(supervisorProcesses().filter((s) => s.pid === pid)).toEqual([expect.objectContaining({ project: r.name, run: r.roots.run })]);
    expect(readFileSync(supervisorPaths(r.roots, r.name).log, 'utf8')).toContain(`supervisor of project ${r.name} started (pid ${pid})`);
    // A changed spec of a running project: a standby may start while it loads, and leaves unused.
    r.spec('  web:\n    command: ["sleep", "3600"]\n    environment: { A: "1" }\n');
    await r.ok(['up', '-d', '--progress', 'plain']);
    expect(supervisorPid(r)).toBe(pid);
    await eventually('the unused standby to leave', () => standbysOf(r).every((p) => p === pid), 10_000);
    // Named on the command line (-p), a running project's edited spec starts none at all.
    r.spec('  web:\n    command: ["sleep", "3600"]\n    environment: { A: "2" }\n');
    const named = await r.ok(['-p', r.name, 'up', '-d', '--progress', 'plain'], { STACK_TRACE: '1' });
    expect(named.stderr).toContain('environment changed');
    expect(named.stderr).not.toContain('standby: starting');
    expect(supervisorPid(r)).toBe(pid);
    await r.ok(['down', '--progress', 'plain']);
    expect(supervisorProcesses().some((s) => s.pid === pid)).toBe(false);
    expect(r.leftovers(['web'])).toEqual([]);
  });
});

// The events between two pictures of a project's records: Docker's order (create, oom, die,
// restart, start, health_status, destroy), exit codes as a shell reports them, nothing for what did not change.
import { describe, expect, it } from 'vitest';
import { diffFacts, type ServiceFacts } from '../../../src/cli/commands/events-diff.js';
import { exitCodeOf, formatEvent, readFacts } from '../../../src/cli/commands/events.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshServiceRecord, serviceRecords } from '../../../src/state/records.js';
import { stateRoots } from '../../../src/state/paths.js';
import { writeJsonAtomic } from '../../../src/state/atomic.js';
import { serviceFiles } from '../../../src/state/service-files.js';
import { serviceStatePaths } from '../../../src/supervisor/index.js';

const running = (pid: number, extra: Partial<ServiceFacts> = {}): ServiceFacts => ({ process: `${pid}:100`, exit: null, health: null, restarts: 0, oomKills: 0, ...extra });
const facts = (entries: Record<string, ServiceFacts>) => new Map(Object.entries(entries));

describe('stack events: diffFacts', () => {
  it('nothing changed, nothing said', () => {
    expect(diffFacts(facts({ web: running(5) }), facts({ web: running(5) }))).toEqual([]);
  });

  it('an OOM kill and a restart: oom, die 137, restart, start', () => {
    const before = facts({ web: running(5) });
    const after = facts({
      web: running(9, { exit: { process: '5:100', exitCode: 137, oomKilled: true, at: 't1' }, restarts: 1, oomKills: 1 }),
    });
    expect(diffFacts(before, after).map((e) => [e.action, e.attributes])).toEqual([
      ['oom', {}],
      ['die', { exitCode: '137' }],
      ['restart', {}],
      ['start', { pid: '9' }],
    ]);
  });

  it('a process replaced before its exit record was read (a restart removes it): die without a code, restart, start', () => {
    const after = facts({ web: running(9, { restarts: 1 }) });
    expect(diffFacts(facts({ web: running(5) }), after).map((e) => [e.action, e.attributes])).toEqual([
      ['die', {}],
      ['restart', {}],
      ['start', { pid: '9' }],
    ]);
    // Its exit was read in an earlier picture: that die was told then, not again.
    const exited = { ...running(5), process: null, exit: { process: '5:100', exitCode: 1, oomKilled: false, at: 't1' } };
    expect(diffFacts(facts({ web: exited }), facts({ web: { ...running(9, { restarts: 1 }), exit: exited.exit } })).map((e) => e.action)).toEqual(['restart', 'start']);
    // Nor when the exit it was replaced after is still there, with its code.
    const seen = { ...running(5), exit: { process: '5:100', exitCode: 1, oomKilled: false, at: 't1' } };
    expect(diffFacts(facts({ web: seen }), facts({ web: running(9, { exit: seen.exit, restarts: 1 }) })).map((e) => e.action)).toEqual(['restart', 'start']);
  });

  it('oom from the exit record when the counter cannot be read; not twice when it can', () => {
    const exit = { process: '5:100', exitCode: 137, oomKilled: true, at: 't1' };
    const noCounter = diffFacts(facts({ web: running(5, { oomKills: null }) }), facts({ web: { ...running(5, { oomKills: null }), process: null, exit } }));
    expect(noCounter.map((e) => e.action)).toEqual(['oom', 'die']);
    // The counter rose in an earlier reading, the exit comes in this one: die only.
    const later = diffFacts(facts({ web: running(5, { oomKills: 1 }) }), facts({ web: { ...running(5, { oomKills: 1 }), process: null, exit } }));
    expect(later.map((e) => e.action)).toEqual(['die']);
  });

  it('health_status on a change of status or process, never for starting; a new service starts', () => {
    const healthy = { process: '5:100', status: 'healthy' };
    expect(diffFacts(facts({ web: running(5, { health: { process: '5:100', status: 'starting' } }) }), facts({ web: running(5, { health: healthy }) }))).toEqual([
      { service: 'web', action: 'health_status', attributes: { healthStatus: 'healthy' } },
    ]);
    expect(diffFacts(facts({ web: running(5, { health: healthy }) }), facts({ web: running(5, { health: healthy }) }))).toEqual([]);
    expect(diffFacts(facts({}), facts({ db: running(7) })).map((e) => e.action)).toEqual(['create', 'start']);
  });

  it('a record that appears is created (then started when its process runs); one that goes is destroyed', () => {
    expect(diffFacts(facts({}), facts({ db: { ...running(7), process: null } })).map((e) => `${e.service} ${e.action}`)).toEqual(['db create']);
    const exit = { process: '5:100', exitCode: 0, oomKilled: false, at: 't1' };
    expect(diffFacts(facts({ db: running(5), web: running(6) }), facts({ web: running(6) })).map((e) => `${e.service} ${e.action}`)).toEqual(['db die', 'db destroy']);
    expect(diffFacts(facts({ db: { ...running(5), process: null } }), facts({})).map((e) => `${e.service} ${e.action}`)).toEqual(['db destroy']);
    // b's exit seen; a gone while it ran: its die (without a code) before its destroy, as Docker orders them
    const gone = diffFacts(facts({ a: running(5), b: running(6) }), facts({ b: { ...running(6), process: null, exit: { ...exit, process: '6:100' } } }));
    expect(gone.map((e) => `${e.service} ${e.action}`)).toEqual(['b die', 'a die', 'a destroy']);
    expect(gone.map((e) => e.attributes)).toEqual([{ exitCode: '0' }, {}, {}]);
  });

  it('exit codes as a shell reports them; compose text and JSON lines', () => {
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(3, null)).toBe(3);
    const t = new Date('2026-01-02T03:04:05.678Z');
    expect(formatEvent('p', { service: 'web', action: 'die', attributes: { exitCode: '137' } }, t, false)).toBe(
      '2026-01-02T03:04:05.678Z container die p-web-1 (exitCode=137, name=p-web-1, project=p, service=web)\n',
    );
    expect(JSON.parse(formatEvent('p', { service: 'web', action: 'health_status', attributes: { healthStatus: 'unhealthy' } }, t, true))).toEqual({
      time: '2026-01-02T03:04:05.678Z', type: 'container', action: 'health_status: unhealthy', id: 'p-web-1', service: 'web',
      attributes: { healthStatus: 'unhealthy', name: 'p-web-1', project: 'p', service: 'web' },
    });
  });
});

describe('stack events: readFacts', () => {
  it('an exit whose record a restart removed is read from the restart record the supervisor kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-events-facts-'));
    try {
      const roots = stateRoots({ STACK_ROOT: join(dir, 'state') });
      await serviceRecords.write(roots, { ...freshServiceRecord('p', 'web', 'boot'), process: { pid: 9, startTime: 200 } });
      const exit = { pid: 5, startTime: 100, exitCode: null, signal: 'SIGKILL', oomKilled: true, oomKills: 1, exitedAt: 't1' };
      await writeJsonAtomic(serviceStatePaths(roots, 'p', 'web').restarts, { pid: 9, startTime: 200, restarts: 1, consecutive: 1, lastExit: exit }, { durable: false });
      const facts = await readFacts(roots, 'p', new Set());
      expect(facts.get('web')?.exit).toEqual({ process: '5:100', exitCode: 137, oomKilled: true, at: 't1' });
      // A newer exit record of its own comes first.
      await writeJsonAtomic(serviceFiles(roots, 'p', 'web').exit, { ...exit, pid: 9, startTime: 200, exitCode: 3, signal: null, oomKilled: false, exitedAt: 't2' }, { durable: false });
      expect((await readFacts(roots, 'p', new Set())).get('web')?.exit).toEqual({ process: '9:200', exitCode: 3, oomKilled: false, at: 't2' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

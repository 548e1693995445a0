// Healthcheck verdicts (Docker's rules) and the commands probes run.
import { describe, expect, it } from 'vitest';
import { afterProbe, initialHealth, lastOutput, LOG_KEEP, OUTPUT_MAX, probeCommand, probeDelay, probeOutput, type ProbeResult } from '../../../src/supervisor/health.js';

const probe = (exitCode: number, output = ''): ProbeResult => ({ start: 's', end: 'e', exitCode, output });

describe('healthcheck verdicts', () => {
  it('one pass makes a starting service healthy', () => {
    expect(afterProbe(initialHealth(1, 2), probe(0), 3, false)).toMatchObject({ status: 'healthy', failingStreak: 0 });
  });

  it('retries failures in a row make it unhealthy; a pass in between starts the count over', () => {
    let s = afterProbe(initialHealth(1, 2), probe(0), 3, false);
    s = afterProbe(s, probe(1), 3, false);
    s = afterProbe(s, probe(1), 3, false);
    expect(s).toMatchObject({ status: 'healthy', failingStreak: 2 });
    s = afterProbe(s, probe(0), 3, false);
    expect(s.failingStreak).toBe(0);
    for (let i = 0; i < 3; i++) s = afterProbe(s, probe(1, 'down'), 3, false);
    expect(s).toMatchObject({ status: 'unhealthy', failingStreak: 3 });
    expect(lastOutput(s)).toBe('down');
  });

  it('failures inside start_period do not count, a pass there does', () => {
    let s = initialHealth(1, 2);
    for (let i = 0; i < 5; i++) s = afterProbe(s, probe(1), 1, true);
    expect(s).toMatchObject({ status: 'starting', failingStreak: 0 });
    expect(s.log).toHaveLength(LOG_KEEP);
    expect(afterProbe(s, probe(0), 1, true).status).toBe('healthy');
    expect(afterProbe(s, probe(1), 1, false).status).toBe('unhealthy');
  });

  it('keeps the last 5 probes', () => {
    let s = initialHealth(1, 2);
    for (let i = 0; i < 7; i++) s = afterProbe(s, probe(i === 6 ? 0 : 1, String(i)), 10, false);
    expect(s.log.map((p) => p.output)).toEqual(['2', '3', '4', '5', '6']);
  });
});

describe('probe commands', () => {
  it.each([
    [['CMD', 'pg_isready', '-U', 'postgres'], ['pg_isready', '-U', 'postgres']],
    [['CMD-SHELL', 'curl -f http://localhost || exit 1'], ['/bin/sh', '-c', 'curl -f http://localhost || exit 1']],
    [['NONE'], undefined],
    [['CMD'], undefined],
  ])('%j runs %j', (test, argv) => {
    expect(probeCommand(test)).toEqual(argv);
  });

  it('probes at start_interval inside the start period when it is set, else at interval', () => {
    expect(probeDelay({ intervalMs: 30_000, startIntervalMs: 5000 }, true)).toBe(5000);
    expect(probeDelay({ intervalMs: 30_000, startIntervalMs: 5000 }, false)).toBe(30_000);
    expect(probeDelay({ intervalMs: 30_000, startIntervalMs: 0 }, true)).toBe(30_000);
  });

  it('keeps stdout then stderr, cut to 4096 bytes', () => {
    expect(probeOutput('out\n', 'err\n')).toBe('out\nerr\n');
    expect(Buffer.byteLength(probeOutput('x'.repeat(5000), 'tail'))).toBe(OUTPUT_MAX);
  });
});

describe('process start times', () => {
  it('turns /proc start ticks into epoch milliseconds with the boot time of /proc/stat', async () => {
    const { processStartedAt } = await import('../../../src/supervisor/prober.js');
    expect(processStartedAt(250, 'cpu  1 2 3\nbtime 1700000000\nprocesses 5\n')).toBe(1_700_000_002_500);
  });
});

// The times `stack logs --since/--until` take (src/cli/log-time.ts): the forms Docker's parser
// takes, each turned into the log files' own form, and what is not a time refused with a hint.
import { describe, expect, it } from 'vitest';
import { logTimeOf, parseGoDuration, parseLogTime } from '../../../src/cli/log-time.js';
import { UserError } from '../../../src/errors.js';

/** 2024-01-02T15:04:05.000Z in milliseconds. */
const NOW = Date.UTC(2024, 0, 2, 15, 4, 5);

describe('parseGoDuration', () => {
  it('reads Go durations, fractions and units combined', () => {
    expect(parseGoDuration('42m')).toBe(42n * 60n * 1_000_000_000n);
    expect(parseGoDuration('1h30m')).toBe(5400n * 1_000_000_000n);
    expect(parseGoDuration('1.5h')).toBe(5400n * 1_000_000_000n);
    expect(parseGoDuration('250ms')).toBe(250_000_000n);
    expect(parseGoDuration('3us')).toBe(3_000n);
    expect(parseGoDuration('3\u00b5s')).toBe(3_000n);
    expect(parseGoDuration('-10s')).toBe(-10_000_000_000n);
    expect(parseGoDuration('.5s')).toBe(500_000_000n);
  });

  it('is undefined for what is no duration', () => {
    for (const text of ['', '10', 'm', '1x', '1h30', '10 m', '1.s2', 'h1']) expect(parseGoDuration(text), text).toBeUndefined();
  });
});

describe('parseLogTime', () => {
  it("writes every time in the log files' form, which compares as text", () => {
    expect(logTimeOf(1_704_207_845_123_456_789n)).toBe('2024-01-02T15:04:05.123456789Z');
    expect(logTimeOf(-5n)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(logTimeOf(5n) < logTimeOf(6n)).toBe(true);
  });

  it('counts a duration back from now', () => {
    expect(parseLogTime('--since', '42m', NOW)).toBe('2024-01-02T14:22:05.000000000Z');
    expect(parseLogTime('--since', '1h30m', NOW)).toBe('2024-01-02T13:34:05.000000000Z');
    expect(parseLogTime('--until', '-1h', NOW)).toBe('2024-01-02T16:04:05.000000000Z');
  });

  it('reads RFC 3339 times with a zone, a fraction or an offset', () => {
    expect(parseLogTime('--since', '2024-01-02T15:04:05Z', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '2024-01-02T15:04:05.5Z', NOW)).toBe('2024-01-02T15:04:05.500000000Z');
    expect(parseLogTime('--since', '2024-01-02T15:04:05.123456789Z', NOW)).toBe('2024-01-02T15:04:05.123456789Z');
    expect(parseLogTime('--since', '2024-01-02T17:04:05+02:00', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '2024-01-02T10:04:05-05:00', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
  });

  it("reads a time without a zone, and a date, as the host's local time", () => {
    const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => logTimeOf(BigInt(new Date(y, mo - 1, d, h, mi, s).getTime()) * 1_000_000n);
    expect(parseLogTime('--since', '2024-01-02T15:04:05', NOW)).toBe(local(2024, 1, 2, 15, 4, 5));
    expect(parseLogTime('--since', '2024-01-02T15:04', NOW)).toBe(local(2024, 1, 2, 15, 4));
    expect(parseLogTime('--since', '2024-01-02T15', NOW)).toBe(local(2024, 1, 2, 15));
    expect(parseLogTime('--since', '2024-01-02', NOW)).toBe(local(2024, 1, 2));
  });

  it('reads a Unix time in seconds, with a fraction; 0 is the epoch, not a duration', () => {
    expect(parseLogTime('--since', '1704207845', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '1704207845.25', NOW)).toBe('2024-01-02T15:04:05.250000000Z');
    expect(parseLogTime('--since', '0', NOW)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('refuses what is no time, naming the option and the forms it takes', () => {
    for (const bad of ['yesterday', '2024-13-01', '2024-02-30', '2024-01-02T25:00:00Z', '10 minutes', '']) {
      let caught: unknown;
      try {
        parseLogTime('--until', bad, NOW);
      } catch (e) {
        caught = e;
      }
      expect(caught, bad).toBeInstanceOf(UserError);
      expect((caught as UserError).message).toBe(`--until wants a time, not ${JSON.stringify(bad)}`);
      expect((caught as UserError).hint).toContain('--until 42m');
    }
  });
});

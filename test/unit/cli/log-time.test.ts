// The times `stack logs --since/--until` take (src/cli/log-time.ts): the forms Docker's parser
// takes, each turned into the log files' own form, and what is not a time refused with a hint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('takes a zero of either sign, as Go does', () => {
    expect(parseGoDuration('0')).toBe(0n);
    expect(parseGoDuration('-0')).toBe(0n);
  });

  it('is undefined for what is no duration, and for one past Go\'s largest (~292 years)', () => {
    for (const text of ['', '10', 'm', '1x', '1h30', '10 m', '1.s2', 'h1', '2600000h']) expect(parseGoDuration(text), text).toBeUndefined();
    expect(parseGoDuration('2500000h')).toBe(2_500_000n * 3600n * 1_000_000_000n);
  });
});

describe('parseLogTime', () => {
  it("writes every time in the log files' form, which compares as text", () => {
    expect(logTimeOf(1_704_207_845_123_456_789n)).toBe('2024-01-02T15:04:05.123456789Z');
    expect(logTimeOf(-5n)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(logTimeOf(5n) < logTimeOf(6n)).toBe(true);
  });

  it('counts a duration back from now, to the whole second (as Docker does)', () => {
    expect(parseLogTime('--since', '42m', NOW)).toBe('2024-01-02T14:22:05.000000000Z');
    expect(parseLogTime('--since', '42m', NOW + 999)).toBe('2024-01-02T14:22:05.000000000Z');
    expect(parseLogTime('--since', '1h30m', NOW)).toBe('2024-01-02T13:34:05.000000000Z');
    expect(parseLogTime('--until', '-1h', NOW)).toBe('2024-01-02T16:04:05.000000000Z');
    expect(parseLogTime('--until', '-0', NOW + 500)).toBe('2024-01-02T15:04:05.000000000Z');
  });

  it('sets nothing for an empty value, as Docker', () => {
    expect(parseLogTime('--since', '', NOW)).toBeUndefined();
    expect(parseLogTime('--since', '  ', NOW)).toBeUndefined();
  });

  it('reads RFC 3339 times with a zone, a fraction or an offset', () => {
    expect(parseLogTime('--since', '2024-01-02T15:04:05Z', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '2024-01-02T15:04:05.5Z', NOW)).toBe('2024-01-02T15:04:05.500000000Z');
    expect(parseLogTime('--since', '2024-01-02T15:04:05.123456789Z', NOW)).toBe('2024-01-02T15:04:05.123456789Z');
    expect(parseLogTime('--since', '2024-01-02T17:04:05+02:00', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '2024-01-02T10:04:05-05:00', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '2024-01-02T15:04:05.1234567891Z', NOW)).toBe('2024-01-02T15:04:05.123456789Z'); // past nine digits: dropped
    expect(parseLogTime('--since', '2024-01-02T15Z', NOW)).toBe('2024-01-02T15:00:00.000000000Z');
    expect(parseLogTime('--since', '2024-01-02Z', NOW)).toBe('2024-01-02T00:00:00.000000000Z');
    expect(parseLogTime('--since', '2024-01-02+02:00', NOW)).toBe('2024-01-01T22:00:00.000000000Z');
  });

  describe("without a zone, the host's local time on that date", () => {
    const tz = process.env.TZ;
    beforeAll(() => void (process.env.TZ = 'Europe/Berlin')); // Node takes a new TZ at once
    afterAll(() => (tz === undefined ? delete process.env.TZ : (process.env.TZ = tz)));

    it('in winter and in summer (not today\'s offset for every date, as Docker applies)', () => {
      expect(parseLogTime('--since', '2024-01-02T15:04:05', NOW)).toBe('2024-01-02T14:04:05.000000000Z');
      expect(parseLogTime('--since', '2024-01-02T15:04', NOW)).toBe('2024-01-02T14:04:00.000000000Z');
      expect(parseLogTime('--since', '2024-01-02T15', NOW)).toBe('2024-01-02T14:00:00.000000000Z');
      expect(parseLogTime('--since', '2024-01-02', NOW)).toBe('2024-01-01T23:00:00.000000000Z');
      expect(parseLogTime('--since', '2024-07-01T12:00', NOW)).toBe('2024-07-01T10:00:00.000000000Z');
    });
  });

  it('reads a Unix time in seconds, with a fraction; 0 is the epoch, not a duration', () => {
    expect(parseLogTime('--since', '1704207845', NOW)).toBe('2024-01-02T15:04:05.000000000Z');
    expect(parseLogTime('--since', '1704207845.25', NOW)).toBe('2024-01-02T15:04:05.250000000Z');
    expect(parseLogTime('--since', '0', NOW)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('refuses what is no time, naming the option and the forms it takes', () => {
    for (const bad of ['yesterday', '2024-13-01', '2024-02-30', '2024-01-02T25:00:00Z', '2024-01-02T15:04:05+24:00', '10 minutes', '3000000h']) {
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

// The times `stack logs --since` and `--until` take, the forms `docker compose logs` takes (Docker's
// own parser, timetypes.GetTimestamp): an RFC 3339 time (2024-01-02T15:04:05Z, with a fraction
// or an offset; hours alone or without seconds too), a date (2024-01-02), a Unix time in seconds
// (1704207845, 1704207845.5), or a Go duration back from now (42m, 1h30m, 1.5h; a negative one
// forward: --until=-1h), cut to the whole second as Docker cuts it. A time without a zone is the
// host's local time on that date; Docker applies today's offset to every date, which is an hour
// off across a daylight-saving change. An empty value sets nothing, as in Docker. The result is
// in the log files' own form (RFC 3339, UTC, nine fractional digits: native/launcher/log.c),
// which compares as text.
import { UserError } from '../errors.js';

const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

/** Go's duration units, in nanoseconds. */
const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // the micro sign
  '\u03bcs': 1_000n, // the Greek mu
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: 60n * NS_PER_S,
  h: 3600n * NS_PER_S,
};

/** Go's largest duration (int64 nanoseconds, ~292 years). */
const MAX_DURATION_NS = 2n ** 63n - 1n;

/** `1.5h30m`, `-10s`, `0` (Go's time.ParseDuration) in nanoseconds; undefined when it is not one. */
export function parseGoDuration(text: string): bigint | undefined {
  const sign = text.startsWith('-') ? -1n : 1n;
  let rest = text.replace(/^[-+]/, '');
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/.exec(rest);
    if (m === null || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = UNITS[m[3]!]!;
    const fraction = m[2] ?? '';
    total += BigInt(m[1] || '0') * unit + (fraction === '' ? 0n : (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length));
    rest = rest.slice(m[0].length);
    if (total > MAX_DURATION_NS) return undefined; // Go refuses it too
  }
  return sign * total;
}

/** The fraction of a second written after the point in nanoseconds (digits past the ninth dropped, as Go drops them). */
function fractionNs(digits: string | undefined): bigint {
  return digits === undefined ? 0n : BigInt(digits.padEnd(9, '0').slice(0, 9));
}

/** An RFC 3339 time or date (zone optional: local time without one) in nanoseconds since the epoch. */
function parseCalendar(text: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = m[8];
  let ms: number;
  if (zone === undefined) {
    const local = new Date(0);
    local.setFullYear(year, month - 1, day); // not the constructor: it takes years 0-99 for 1900-1999
    local.setHours(hour, minute, second, 0);
    if (local.getFullYear() !== year || local.getMonth() !== month - 1 || local.getDate() !== day) return undefined; // 2024-02-30
    ms = local.getTime();
  } else {
    ms = Date.UTC(year, month - 1, day, hour, minute, second);
    if (new Date(ms).getUTCDate() !== day) return undefined;
    if (zone !== 'Z' && zone !== 'z') {
      const [hours, minutes] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
      if (hours > 23 || minutes > 59) return undefined;
      const offset = (hours * 60 + minutes) * 60_000;
      ms -= zone.startsWith('+') ? offset : -offset;
    }
  }
  return BigInt(ms) * NS_PER_MS + fractionNs(m[7]);
}

/** Nanoseconds since the epoch in the log files' form: `2024-01-02T15:04:05.000000000Z`. */
export function logTimeOf(ns: bigint): string {
  const clamped = ns < 0n ? 0n : ns > 253402300799999999999n ? 253402300799999999999n : ns; // 0000-9999
  const seconds = clamped / NS_PER_S;
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(clamped % NS_PER_S).padStart(9, '0')}Z`;
}

/**
 * The time `value` (of option `option`, for the error) names, in the log files' form, undefined
 * for an empty value; `now` in milliseconds since the epoch. A UserError names what was given and
 * what is taken.
 */
export function parseLogTime(option: string, value: string, now: number = Date.now()): string | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  // A duration counts back from now, to the whole second. A bare number is a Unix time: "0" is
  // the epoch, which Go's parser would take for a duration of nothing (and Docker, too, reads
  // "0" as the epoch and "-0" as now).
  const duration = text === '0' ? undefined : parseGoDuration(text);
  let ns: bigint | undefined;
  if (duration !== undefined) ns = ((BigInt(Math.floor(now)) * NS_PER_MS - duration) / NS_PER_S) * NS_PER_S;
  else if (/^\d+(\.\d+)?$/.test(text)) {
    const [whole, fraction] = text.split('.');
    ns = BigInt(whole!) * NS_PER_S + fractionNs(fraction);
  } else ns = parseCalendar(text);
  if (ns === undefined) {
    throw new UserError(
      'CLI_BAD_ARGUMENTS',
      `${option} wants a time, not ${JSON.stringify(value)}`,
      `e.g. ${option} 2024-01-02T15:04:05Z (an offset, or the host's local time without one), ${option} 2024-01-02, a Unix time (${option} 1704207845), or a duration back from now (${option} 42m, ${option} 1h30m; forward: ${option}=-1h)`,
    );
  }
  return logTimeOf(ns);
}

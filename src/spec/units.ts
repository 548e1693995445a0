// Durations, byte sizes and cpu counts as compose writes them. Each parser returns a number or
// a short reason it refused the input, so validation can say what it expected.

/** A parse result: the value, or why the text is not one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** What a duration looks like, for `expected:` lines. */
export const DURATION_FORMAT = 'a duration such as 30s, 1m30s, 500ms or 1h (a bare number is seconds)';

/**
 * Parses a compose duration (Go's time.ParseDuration syntax: ns, us, ms, s, m, h) into
 * milliseconds. A bare number (YAML number or numeric string) counts as seconds; compose itself
 * refuses those except 0, so accepting them only widens what loads.
 */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? { ok: true, value: input * 1000 } : { ok: false, reason: 'must be a non-negative number' };
  }
  if (typeof input !== 'string') return { ok: false, reason: 'not a string or a number' };
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return { ok: true, value: Number(text) * 1000 };
  if (text === '') return { ok: false, reason: 'empty' };
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) return { ok: false, reason: `cannot read "${text.slice(at)}"` };
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    at = part.lastIndex;
  }
  return { ok: true, value: Math.round(total * 1e6) / 1e6 };
}

const SIZE_MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** What a byte size looks like, for `expected:` lines. */
export const SIZE_FORMAT = 'a byte size such as 512m, 1g, 1.5gb or a number of bytes';

/**
 * Parses a byte size the way docker's units.RAMInBytes does: binary multipliers (k = 1024),
 * optional `i` and `b` suffixes, case-insensitive; a plain number is bytes.
 */
export function parseBytes(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input >= 0 ? { ok: true, value: input } : { ok: false, reason: 'must be a whole, non-negative number of bytes' };
  }
  if (typeof input !== 'string') return { ok: false, reason: 'not a string or a number' };
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(input.trim());
  if (!m) return { ok: false, reason: `cannot read "${input}"` };
  const unit = (m[2] ?? '').toLowerCase();
  return { ok: true, value: Math.trunc(Number(m[1]) * SIZE_MULTIPLIERS[unit]!) };
}

/** What a cpu count looks like, for `expected:` lines. */
export const CPUS_FORMAT = 'a number of cpus such as 0.5 or 2';

/** Parses a cpu count (`0.5`, `"1.5"`, `2`): a positive fraction of cpus. */
export function parseCpus(input: unknown): Parsed<number> {
  const value = typeof input === 'number' ? input : typeof input === 'string' && /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(input) ? Number(input) : NaN;
  if (!Number.isFinite(value)) return { ok: false, reason: 'not a number' };
  if (value < 0) return { ok: false, reason: 'must not be negative' };
  return { ok: true, value };
}

/** Parses a whole number given as a number or a numeric string (interpolated values are strings). */
export function parseInteger(input: unknown): Parsed<number> {
  const value = typeof input === 'number' ? input : typeof input === 'string' && /^\s*-?\d+\s*$/.test(input) ? Number(input) : NaN;
  return Number.isInteger(value) ? { ok: true, value } : { ok: false, reason: 'not a whole number' };
}

/** Parses a boolean as compose accepts it after interpolation: true/false, yes/no, on/off, y/n. */
export function parseBoolean(input: unknown): Parsed<boolean> {
  if (typeof input === 'boolean') return { ok: true, value: input };
  if (typeof input === 'string') {
    const t = input.trim().toLowerCase();
    if (['true', 'yes', 'y', 'on'].includes(t)) return { ok: true, value: true };
    if (['false', 'no', 'n', 'off'].includes(t)) return { ok: true, value: false };
  }
  return { ok: false, reason: 'not true or false' };
}

/** A validated boolean-ish value, or `fallback` when absent. */
export function asBoolean(input: unknown, fallback: boolean): boolean {
  const parsed = parseBoolean(input);
  return input === undefined || !parsed.ok ? fallback : parsed.value;
}

/** Milliseconds as a compose duration (`1m30s`, `500ms`, `0s`), for printing a project back. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest > 0) out += `${Math.round(rest * 1e6) / 1e6}ms`;
  return out;
}

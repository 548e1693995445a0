// The variables a spec uses, read from its templates before interpolation, for `stack config
// --variables` (compose's: each name with what it falls back to). The grammar is interpolate.ts's:
// $NAME, ${NAME}, ${NAME:-default} and ${NAME-default}, ${NAME:?message} and ${NAME?message}
// (required), ${NAME:+alternate} and ${NAME+alternate}; $$ is a literal $. Variables inside a
// default or an alternate count too (compose-go's ExtractVariables reads those, not the
// message). Values are read, never keys (compose interpolates values only). A template this
// grammar rejects is skipped here: loading the spec reports it.
import { closingBrace, NAME, OPS } from './interpolate.js';

/** One variable: whether a template requires it, and what it falls back to / stands for when set. */
export interface SpecVariable {
  readonly name: string;
  readonly required: boolean;
  /** The default of ${NAME:-default} / ${NAME-default}; '' when none. */
  readonly defaultValue: string;
  /** The alternate of ${NAME:+alternate} / ${NAME+alternate}; '' when none. */
  readonly presenceValue: string;
}

/**
 * The variables the string values of `doc` (a plain document: maps, lists, scalars) use, sorted
 * by name. A variable used more than once is required when any use requires it, and keeps the
 * first default and alternate given (compose-go keeps whichever use its map walk met last).
 */
export function specVariables(doc: unknown): SpecVariable[] {
  const found = new Map<string, SpecVariable>();
  const add = (v: SpecVariable): void => {
    const had = found.get(v.name);
    found.set(
      v.name,
      had === undefined
        ? v
        : {
            name: v.name,
            required: had.required || v.required,
            defaultValue: had.defaultValue !== '' ? had.defaultValue : v.defaultValue,
            presenceValue: had.presenceValue !== '' ? had.presenceValue : v.presenceValue,
          },
    );
  };
  const walk = (value: unknown): void => {
    if (typeof value === 'string') scan(value, add);
    else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) walk(item);
  };
  walk(doc);
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Calls `add` for each variable `template` uses. */
function scan(template: string, add: (v: SpecVariable) => void): void {
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) return;
    const next = template[dollar + 1];
    if (next === '$') {
      i = dollar + 2;
      continue;
    }
    const plain = NAME.exec(template.slice(dollar + 1));
    if (plain !== null) {
      add({ name: plain[0], required: false, defaultValue: '', presenceValue: '' });
      i = dollar + 1 + plain[0].length;
      continue;
    }
    if (next !== '{') {
      i = dollar + 1;
      continue;
    }
    const close = closingBrace(template, dollar);
    if (close < 0) return; // "${" never closed: the load says so
    braced(template.slice(dollar + 2, close), add);
    i = close + 1;
  }
}

/** The inside of one `${...}`. */
function braced(body: string, add: (v: SpecVariable) => void): void {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) return; // not a name: the load says so
  const rest = body.slice(name.length);
  const op = OPS.find((o) => rest.startsWith(o));
  if (rest !== '' && op === undefined) return;
  const arg = op === undefined ? '' : rest.slice(op.length);
  const required = op === ':?' || op === '?';
  const defaultValue = op === ':-' || op === '-' ? arg : '';
  const presenceValue = op === ':+' || op === '+' ? arg : '';
  add({ name, required, defaultValue, presenceValue });
  if (defaultValue !== '') scan(defaultValue, add);
  if (presenceValue !== '') scan(presenceValue, add);
}

/** `stack config --variables` in `format`: compose's table (NAME, REQUIRED, DEFAULT VALUE, ALTERNATE VALUE), json or yaml. */
export function formatVariables(variables: readonly SpecVariable[], format: 'table' | 'json' | 'yaml'): string {
  if (format === 'json') {
    // compose prints its Go structs' field names.
    const byName = Object.fromEntries(variables.map((v) => [v.name, { Name: v.name, DefaultValue: v.defaultValue, PresenceValue: v.presenceValue, Required: v.required }]));
    return `${JSON.stringify(byName, null, 4)}\n`; // compose's ToStandardJSON: 4 spaces
  }
  if (format === 'yaml') {
    if (variables.length === 0) return '{}\n';
    const quoted = (s: string): string => JSON.stringify(s);
    return variables
      .map((v) => `${quoted(v.name)}:\n  name: ${quoted(v.name)}\n  defaultvalue: ${quoted(v.defaultValue)}\n  presencevalue: ${quoted(v.presenceValue)}\n  required: ${v.required}\n`)
      .join('');
  }
  const rows = [['NAME', 'REQUIRED', 'DEFAULT VALUE', 'ALTERNATE VALUE'], ...variables.map((v) => [v.name, String(v.required), v.defaultValue, v.presenceValue])];
  // compose's tab writer: a column as wide as its widest cell and 3 more, 20 at least.
  const widths = rows[0]!.map((_, c) => Math.max(20, ...rows.map((r) => r[c]!.length + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('').trimEnd() + '\n').join('');
}

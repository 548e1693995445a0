// Variable interpolation exactly as compose does it: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
// ${VAR:?msg}, ${VAR?msg}, ${VAR:+alt}, ${VAR+alt}, $$ for a literal $. A substituted value is
// never expanded again; defaults, alternatives and messages are themselves templates.
import type { Diagnostic } from './diagnostics.js';
import type { KeyPath, Location } from './raw.js';
import { mapNode, type Node, type ScalarNode } from './tree.js';

/** Looks a variable up; undefined means unset. */
export type Lookup = (name: string) => string | undefined;

/** A malformed template or a required variable without a value; `offset` is where it starts. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const NAME_START = /[_a-zA-Z]/;
/** A variable's name at the start of a string. */
export const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;
/** The operators after a name in `${...}`, longest first. */
export const OPS = [':-', ':?', ':+', '-', '?', '+'] as const;

/** Substitutes the variables of `template`; `onUnset` hears of each plain reference to an unset
 * variable (compose then warns and uses ""). Throws TemplateError. */
export function substitute(
  template: string,
  lookup: Lookup,
  onUnset: (name: string, offset: number) => void = () => {},
  base = 0,
): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next !== undefined && NAME_START.test(next)) {
      const name = NAME.exec(template.slice(dollar + 1))![0];
      const v = lookup(name);
      if (v === undefined) onUnset(name, base + dollar);
      out += v ?? '';
      i = dollar + 1 + name.length;
    } else if (next === '{') {
      const close = closingBrace(template, dollar);
      if (close < 0) throw invalid(template.slice(dollar), base + dollar, '"${" has no closing "}"');
      out += braced(template.slice(dollar + 2, close), lookup, onUnset, base + dollar);
      i = close + 1;
    } else {
      out += '$';
      i = dollar + 1;
    }
  }
  return out;
}

/** The `}` closing the `${` at `start`, counting nested `${`, as compose does; -1 when none. */
export function closingBrace(s: string, start: number): number {
  let depth = 0;
  for (let j = start; j < s.length; j++) {
    if (s[j] === '$' && s[j + 1] === '{') {
      depth++;
      j++;
    } else if (s[j] === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function invalid(text: string, offset: number, why: string): TemplateError {
  return new TemplateError(`invalid interpolation "${text}": ${why}`, offset, 'write $$ for a literal $');
}

/** Evaluates the inside of `${...}` (`at` is the offset of its `$`). */
function braced(body: string, lookup: Lookup, onUnset: (n: string, o: number) => void, at: number): string {
  const name = NAME.exec(body)?.[0];
  if (!name)
    throw invalid(`\${${body}}`, at, 'a variable name starts with a letter or _ and holds only letters, digits and _');
  const v = lookup(name);
  if (name.length === body.length) {
    if (v === undefined) onUnset(name, at);
    return v ?? '';
  }
  const rest = body.slice(name.length);
  const op = OPS.find((o) => rest.startsWith(o));
  if (!op)
    throw invalid(`\${${body}}`, at, `after the name ${name} expected "}" or one of :- - :? ? :+ +`);
  const arg = rest.slice(op.length);
  const argAt = at + 2 + name.length + op.length;
  const sub = (): string => substitute(arg, lookup, onUnset, argAt);
  const empty = v === undefined || (op.startsWith(':') && v === '');
  switch (op) {
    case ':-':
    case '-':
      return empty ? sub() : v!;
    case ':+':
    case '+':
      return empty ? '' : sub();
    case ':?':
    case '?': {
      if (!empty) return v!;
      const msg = sub();
      throw new TemplateError(
        `required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`,
        at,
        `set ${name} in the environment or in the .env file`,
      );
    }
  }
}

/** Where interpolation findings go. */
export interface InterpolationSink {
  readonly errors: Diagnostic[];
  /** Called for each plain reference to an unset variable. */
  unset(name: string, location: Location, path: KeyPath): void;
}

/** Interpolates every string value of a tree (never keys), keeping places. */
export function interpolateTree(n: Node, lookup: Lookup, sink: InterpolationSink, path: KeyPath = []): Node {
  switch (n.kind) {
    case 'map': {
      const entries: [string, Location, Node][] = [];
      for (const [k, v] of n.entries) entries.push([k, n.keys.get(k) ?? v.loc, interpolateTree(v, lookup, sink, [...path, k])]);
      return mapNode(n.loc, entries, n.tag);
    }
    case 'seq':
      return { ...n, items: n.items.map((x, i) => interpolateTree(x, lookup, sink, [...path, i])) };
    case 'scalar':
      return typeof n.value === 'string' && n.value.includes('$') ? scalar(n, lookup, sink, path) : n;
  }
}

function scalar(n: ScalarNode, lookup: Lookup, sink: InterpolationSink, path: KeyPath): Node {
  const at = (offset: number): Location =>
    n.textOffset === undefined ? n.loc : { ...n.loc, col: n.loc.col + n.textOffset + offset };
  try {
    const value = substitute(n.value as string, lookup, (name, offset) => sink.unset(name, at(offset), path));
    const { textOffset: _drop, ...rest } = n;
    return value === n.value ? n : { ...rest, value };
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    sink.errors.push({
      severity: 'error',
      code: 'INTERPOLATION',
      location: at(e.offset),
      path,
      message: e.message,
      found: JSON.stringify(n.value),
      ...(e.hint ? { hint: e.hint } : {}),
    });
    return n;
  }
}

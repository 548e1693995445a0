// Checks the shape of a state record read back from disk. A handful of combinators instead of
// zod: the records are small and written by stack itself, and loading zod's ~95 modules cost the
// supervisor (started by every `stack up`) about 0.1 s of its start. Issues read `path: what`.

/** Checks `value` at `path`, pushes each problem to `issues`; returns the checked value. */
export type Check<T> = (value: unknown, path: string, issues: string[]) => T;

/** The type a Check produces. */
export type Shape<C> = C extends Check<infer T> ? T : never;

function issue(issues: string[], path: string, message: string): void {
  issues.push(`${path}: ${message}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string. */
export const string: Check<string> = (value, path, issues) => {
  if (typeof value !== 'string') issue(issues, path, `expected string, received ${describe(value)}`);
  return value as string;
};

/** An integer of at least `min`. */
export function integer(min: number): Check<number> {
  return (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) issue(issues, path, `expected integer, received ${describe(value)}`);
    else if (value < min) issue(issues, path, `expected a number >= ${min}, received ${value}`);
    return value as number;
  };
}

/** Exactly `expected`. */
export function literal<const T extends string | number>(expected: T): Check<T> {
  return (value, path, issues) => {
    if (value !== expected) issue(issues, path, `expected ${JSON.stringify(expected)}, received ${JSON.stringify(value) ?? describe(value)}`);
    return value as T;
  };
}

/** `check`, or null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path, issues) => (value === null ? null : check(value, path, issues));
}

/** An array whose every item passes `item`. */
export function array<T>(item: Check<T>): Check<T[]> {
  return (value, path, issues) => {
    if (!Array.isArray(value)) {
      issue(issues, path, `expected array, received ${describe(value)}`);
      return value as T[];
    }
    return value.map((v, i) => item(v, join(path, i), issues));
  };
}

/** An object used as a map: every value passes `item`. */
export function record<T>(item: Check<T>): Check<Record<string, T>> {
  return (value, path, issues) => {
    if (!isPlainObject(value)) {
      issue(issues, path, `expected record, received ${describe(value)}`);
      return value as Record<string, T>;
    }
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(value)) out[k] = item(v, join(path, k), issues);
    return out;
  };
}

type Fields = Record<string, Check<unknown>>;
type Optional<F extends Fields> = { [K in keyof F]: undefined extends Shape<F[K]> ? K : never }[keyof F];
type ObjectOf<F extends Fields> = { [K in Exclude<keyof F, Optional<F>>]: Shape<F[K]> } & { [K in Optional<F>]?: Shape<F[K]> };

/** `check`, or absent. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path, issues) => (value === undefined ? undefined : check(value, path, issues));
}

/**
 * An object with `fields`. `loose` keeps keys it does not know (later layers may add fields to
 * a record); otherwise they are dropped, as zod's object does.
 */
export function object<F extends Fields>(fields: F, loose: true): Check<ObjectOf<F> & Record<string, unknown>>;
export function object<F extends Fields>(fields: F, loose?: false): Check<ObjectOf<F>>;
export function object<F extends Fields>(fields: F, loose = false): Check<ObjectOf<F>> {
  return (value, path, issues) => {
    if (!isPlainObject(value)) {
      issue(issues, path, `expected object, received ${describe(value)}`);
      return value as ObjectOf<F>;
    }
    const out: Record<string, unknown> = loose ? { ...value } : {};
    for (const [key, check] of Object.entries(fields)) {
      const checked = check(value[key], join(path, key), issues);
      if (checked !== undefined || key in value) out[key] = checked;
    }
    return out as ObjectOf<F>;
  };
}

// Checks the shape of a state record read back from disk. A handful of combinators instead of
// zod: the records are small and written by stack itself, and loading zod's ~95 modules cost the
// supervisor (started by every `stack up`) about 0.1 s of its start. Issues read `path: what`.

/**
 * Checks `value` at `path`, pushes each problem to `issues`; returns the checked value. `accepts`
 * is the same check without a word: true when `value` passes as it is (nothing to report, nothing
 * a strict object would drop). Every check tries it first and returns such a value itself. A
 * record read back is nearly always good, and in a short-lived CLI the full walk runs in V8's
 * interpreter: its path strings, entry arrays and copies made a cold read of a service record
 * ~0.2 ms (40 reads 8.5 ms), most of the CPU of a `down`'s record work.
 */
export type Check<T> = ((value: unknown, path: string, issues: string[]) => T) & { readonly accepts: (value: unknown) => boolean };

/** The type a Check produces. */
export type Shape<C> = C extends Check<infer T> ? T : never;

function check<T>(full: (value: unknown, path: string, issues: string[]) => T, accepts: (value: unknown) => boolean): Check<T> {
  return Object.assign((value: unknown, path: string, issues: string[]): T => (accepts(value) ? (value as T) : full(value, path, issues)), { accepts });
}

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

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** A string. */
export const string: Check<string> = check(
  (value, path, issues) => {
    issue(issues, path, `expected string, received ${describe(value)}`);
    return value as string;
  },
  (value) => typeof value === 'string',
);

/** An integer of at least `min`. */
export function integer(min: number): Check<number> {
  return check(
    (value, path, issues) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) issue(issues, path, `expected integer, received ${describe(value)}`);
      else issue(issues, path, `expected a number >= ${min}, received ${value}`);
      return value as number;
    },
    (value) => typeof value === 'number' && Number.isInteger(value) && value >= min,
  );
}

/** Exactly `expected`. */
export function literal<const T extends string | number>(expected: T): Check<T> {
  return check(
    (value, path, issues) => {
      issue(issues, path, `expected ${JSON.stringify(expected)}, received ${JSON.stringify(value) ?? describe(value)}`);
      return value as T;
    },
    (value) => value === expected,
  );
}

/** `check`, or null. */
export function nullable<T>(inner: Check<T>): Check<T | null> {
  return check(
    (value, path, issues) => inner(value, path, issues),
    (value) => value === null || inner.accepts(value),
  );
}

/** An array whose every item passes `item`. */
export function array<T>(item: Check<T>): Check<T[]> {
  return check(
    (value, path, issues) => {
      if (!Array.isArray(value)) {
        issue(issues, path, `expected array, received ${describe(value)}`);
        return value as T[];
      }
      return value.map((v, i) => item(v, join(path, i), issues));
    },
    (value) => {
      if (!Array.isArray(value)) return false;
      for (let i = 0; i < value.length; i++) if (!item.accepts(value[i])) return false;
      return true;
    },
  );
}

/** An object used as a map: every value passes `item`. */
export function record<T>(item: Check<T>): Check<Record<string, T>> {
  return check(
    (value, path, issues) => {
      if (!isPlainObject(value)) {
        issue(issues, path, `expected record, received ${describe(value)}`);
        return value as Record<string, T>;
      }
      const out: Record<string, T> = {};
      for (const [k, v] of Object.entries(value)) out[k] = item(v, join(path, k), issues);
      return out;
    },
    (value) => {
      if (!isPlainObject(value)) return false;
      // A "__proto__" key is one the copy below drops: such a value is not returned as it is.
      for (const k in value) if (hasOwn(value, k) && (k === '__proto__' || !item.accepts(value[k]))) return false;
      return true;
    },
  );
}

type Fields = Record<string, Check<unknown>>;
type Optional<F extends Fields> = { [K in keyof F]: undefined extends Shape<F[K]> ? K : never }[keyof F];
type ObjectOf<F extends Fields> = { [K in Exclude<keyof F, Optional<F>>]: Shape<F[K]> } & { [K in Optional<F>]?: Shape<F[K]> };

/** `check`, or absent. */
export function optional<T>(inner: Check<T>): Check<T | undefined> {
  return check(
    (value, path, issues) => inner(value, path, issues),
    (value) => value === undefined || inner.accepts(value),
  );
}

/**
 * An object with `fields`. `loose` keeps keys it does not know (later layers may add fields to
 * a record); otherwise they are dropped, as zod's object does.
 */
export function object<F extends Fields>(fields: F, loose: true): Check<ObjectOf<F> & Record<string, unknown>>;
export function object<F extends Fields>(fields: F, loose?: false): Check<ObjectOf<F>>;
export function object<F extends Fields>(fields: F, loose = false): Check<ObjectOf<F>> {
  const entries = Object.entries(fields);
  return check(
    (value, path, issues) => {
      if (!isPlainObject(value)) {
        issue(issues, path, `expected object, received ${describe(value)}`);
        return value as ObjectOf<F>;
      }
      const out: Record<string, unknown> = loose ? { ...value } : {};
      for (const [key, inner] of entries) {
        const checked = inner(value[key], join(path, key), issues);
        if (checked !== undefined || key in value) out[key] = checked;
      }
      return out as ObjectOf<F>;
    },
    (value) => {
      if (!isPlainObject(value)) return false;
      for (let i = 0; i < entries.length; i++) if (!entries[i]![1].accepts(value[entries[i]![0]])) return false;
      if (!loose) for (const k in value) if (hasOwn(value, k) && !hasOwn(fields, k)) return false;
      return true;
    },
  );
}

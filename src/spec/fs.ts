// The spec loader's look at the file system: every file it reads and every path it tests goes
// through these three calls, so that a load can be recorded (spec/cache.ts) and its cache entry
// checked later by looking again at exactly what the load looked at.
import { fnv1a64 as digestOf } from './digest.js';
import { existsSync as nodeExists, readFileSync as nodeRead, statSync as nodeStat, type Stats } from 'node:fs';

/** One look of a load, with what it saw: a file, a path, a variable of the environment, or all of it (an enumeration). */
export type Observation =
  | { readonly kind: 'read'; readonly path: string; readonly digest: string | null }
  | { readonly kind: 'exists'; readonly path: string; readonly value: boolean }
  | { readonly kind: 'stat'; readonly path: string; readonly type: 'file' | 'dir' | 'other' | null }
  | { readonly kind: 'env'; readonly name: string; readonly value: string | null }
  | { readonly kind: 'env-all'; readonly digest: string };

/** The process environment as the cache compares it whole: its defined variables, sorted. */
type Environment = Readonly<Record<string, string | undefined>>;
const envDigest = (env: Environment): string =>
  digestOf(JSON.stringify(Object.entries(env).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))));

/** The looks of the load under way, when one is recorded; `uncacheable` once it read something that cannot be looked at again (stdin). */
let recording: { seen: Observation[]; uncacheable: boolean; env: Set<string>; envAll: boolean } | undefined;

const typeOf = (s: Stats): 'file' | 'dir' | 'other' => (s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other');

/** readFileSync(path, 'utf8'), recorded; a number is a file descriptor (stdin: `-f -`), never cacheable. */
export function readText(path: string | number): string {
  if (typeof path === 'number') {
    if (recording) recording.uncacheable = true;
    return nodeRead(path, 'utf8');
  }
  let text: string | undefined;
  try {
    return (text = nodeRead(path, 'utf8'));
  } finally {
    recording?.seen.push({ kind: 'read', path, digest: text === undefined ? null : digestOf(text) });
  }
}

/** existsSync, recorded. */
export function pathExists(path: string): boolean {
  const value = nodeExists(path);
  recording?.seen.push({ kind: 'exists', path, value });
  return value;
}

/** statSync, recorded as the path's type (all the loader asks of it). */
export function pathStat(path: string): Stats {
  try {
    const s = nodeStat(path);
    recording?.seen.push({ kind: 'stat', path, type: typeOf(s) });
    return s;
  } catch (e) {
    recording?.seen.push({ kind: 'stat', path, type: null });
    throw e;
  }
}

/**
 * `env` (variables of `given`, the process environment, over env files) as the loader reads it:
 * during a recorded load every variable looked up is recorded with its value in `given` (null:
 * not set there), so a kept load is used again while those variables are as they were, whatever
 * else the environment holds (another terminal, `FOO=1 stack ps`). Enumerating it (a spread)
 * records the whole environment. Outside a recorded load, `env` itself.
 */
export function watchedEnv<T extends Record<string, string | undefined>>(env: T, given: Environment): T {
  const into = recording;
  if (into === undefined) return env;
  const note = (name: string | symbol): void => {
    if (typeof name !== 'string' || into.env.has(name)) return;
    into.env.add(name);
    into.seen.push({ kind: 'env', name, value: given[name] ?? null });
  };
  return new Proxy(env, {
    get: (target, name, receiver) => (note(name), Reflect.get(target, name, receiver)),
    has: (target, name) => (note(name), Reflect.has(target, name)),
    getOwnPropertyDescriptor: (target, name) => (note(name), Reflect.getOwnPropertyDescriptor(target, name)),
    ownKeys: (target) => {
      if (!into.envAll) into.seen.push({ kind: 'env-all', digest: envDigest(given) });
      into.envAll = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Runs `load` recording its looks; undefined `seen` when it read something that cannot be looked at again. */
export async function recorded<T>(load: () => Promise<T>): Promise<{ value: T; seen: readonly Observation[] | undefined }> {
  const mine = { seen: [] as Observation[], uncacheable: false, env: new Set<string>(), envAll: false };
  recording = mine;
  try {
    const value = await load();
    return { value, seen: mine.uncacheable ? undefined : mine.seen };
  } finally {
    recording = undefined;
  }
}

/**
 * What the looks of one cache lookup found, by kind and path (and the environment's digest): the
 * kept loads of one folder (up to 8, spec/cache.ts) mostly look at the same files, and each was
 * read and hashed once per load checked.
 */
export type Looks = Map<string, unknown>;

/** A fresh memo for unchanged(): one per lookup, since the files may change between lookups. */
export function newLooks(): Looks {
  return new Map();
}

function memo<V>(looks: Looks, key: string, look: () => V): V {
  if (looks.has(key)) return looks.get(key) as V;
  const value = look();
  looks.set(key, value);
  return value;
}

/**
 * Whether the file system and `env` (the process environment) still show what `seen` recorded.
 * `looks` keeps what was looked at for the other entries checked in the same lookup.
 */
export function unchanged(seen: readonly Observation[], env: Environment, looks: Looks = newLooks()): boolean {
  return seen.every((o) => holds(o, env, looks));
}

/**
 * Whether the files and folders `seen` recorded still look as they did, whatever the variables:
 * a kept load that only another environment would use again.
 */
export function filesUnchanged(seen: readonly Observation[], looks: Looks = newLooks()): boolean {
  return seen.every((o) => o.kind === 'env' || o.kind === 'env-all' || holds(o, {}, looks));
}

/** Whether one observation still holds. */
function holds(o: Observation, env: Environment, looks: Looks): boolean {
  if (o.kind === 'env') return (env[o.name] ?? null) === o.value;
  if (o.kind === 'env-all') return memo(looks, 'env-all', () => envDigest(env)) === o.digest;
  if (o.kind === 'exists') return memo(looks, `exists\0${o.path}`, () => nodeExists(o.path)) === o.value;
  if (o.kind === 'stat') return memo(looks, `stat\0${o.path}`, () => typeAt(o.path)) === o.type;
  return memo(looks, `read\0${o.path}`, () => digestAt(o.path)) === o.digest;
}

/**
 * The type of what is at `path`, null when nothing is. A path that is not there is most of them
 * (compose.yml, .override.yaml, ...): asked without an exception, which costs ~40 µs where the
 * answer costs ~7.
 */
function typeAt(path: string): 'file' | 'dir' | 'other' | null {
  try {
    const s = nodeStat(path, { throwIfNoEntry: false });
    return s === undefined ? null : typeOf(s);
  } catch {
    return null;
  }
}

/** The digest of the file at `path`, null when it cannot be read. */
function digestAt(path: string): string | null {
  try {
    return digestOf(nodeRead(path, 'utf8'));
  } catch {
    return null;
  }
}

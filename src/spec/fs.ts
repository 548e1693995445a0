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

/** Whether the file system and `env` (the process environment) still show what `seen` recorded. */
export function unchanged(seen: readonly Observation[], env: Environment): boolean {
  for (const o of seen) {
    if (o.kind === 'env') {
      if ((env[o.name] ?? null) !== o.value) return false;
    } else if (o.kind === 'env-all') {
      if (envDigest(env) !== o.digest) return false;
    } else if (o.kind === 'exists') {
      if (nodeExists(o.path) !== o.value) return false;
    } else if (o.kind === 'stat') {
      // A path that is not there is most of them (compose.yml, .override.yaml, ...): asked
      // without an exception, which costs ~40 µs where the answer costs ~7.
      let type: 'file' | 'dir' | 'other' | null = null;
      try {
        const s = nodeStat(o.path, { throwIfNoEntry: false });
        type = s === undefined ? null : typeOf(s);
      } catch {
        type = null;
      }
      if (type !== o.type) return false;
    } else {
      let digest: string | null = null;
      try {
        digest = digestOf(nodeRead(o.path, 'utf8'));
      } catch {
        digest = null;
      }
      if (digest !== o.digest) return false;
    }
  }
  return true;
}

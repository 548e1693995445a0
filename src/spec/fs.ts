// The spec loader's look at the file system: every file it reads and every path it tests goes
// through these three calls, so that a load can be recorded (spec/cache.ts) and its cache entry
// checked later by looking again at exactly what the load looked at.
import { createHash } from 'node:crypto';
import { existsSync as nodeExists, readFileSync as nodeRead, statSync as nodeStat, type Stats } from 'node:fs';

/** One look of a load, with what it saw. */
export type Observation =
  | { readonly kind: 'read'; readonly path: string; readonly digest: string | null }
  | { readonly kind: 'exists'; readonly path: string; readonly value: boolean }
  | { readonly kind: 'stat'; readonly path: string; readonly type: 'file' | 'dir' | 'other' | null };

/** The looks of the load under way, when one is recorded; `uncacheable` once it read something that cannot be looked at again (stdin). */
let recording: { seen: Observation[]; uncacheable: boolean } | undefined;

const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');
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

/** Runs `load` recording its looks; undefined `seen` when it read something that cannot be looked at again. */
export async function recorded<T>(load: () => Promise<T>): Promise<{ value: T; seen: readonly Observation[] | undefined }> {
  const mine = { seen: [] as Observation[], uncacheable: false };
  recording = mine;
  try {
    const value = await load();
    return { value, seen: mine.uncacheable ? undefined : mine.seen };
  } finally {
    recording = undefined;
  }
}

/** Whether the file system still shows what `seen` recorded. */
export function unchanged(seen: readonly Observation[]): boolean {
  for (const o of seen) {
    if (o.kind === 'exists') {
      if (nodeExists(o.path) !== o.value) return false;
    } else if (o.kind === 'stat') {
      let type: 'file' | 'dir' | 'other' | null = null;
      try {
        type = typeOf(nodeStat(o.path));
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

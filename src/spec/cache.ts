// Loaded projects kept between commands (issue 11: yaml and zod, loaded and run, were ~200 ms of
// the CPU of a no-op `up`). An entry is found by what the command was given — the code's build,
// the folder, the options and the machine's architecture — and is used only if every file the
// load read still has the same content, every path it tested still tests the same and every
// variable of the environment it read has the same value (spec/fs.ts records all three): an
// edited compose file, .env or env_file, a compose.override.yaml that appeared, a changed
// variable the spec uses, all load anew; another terminal's environment does not. Errors are
// never kept (a bad spec is reported from a fresh load), nor a load that read stdin (`-f -`).
// Entries live in /var/cache/stack/spec (STACK_CACHE), 0600 in a 0700 folder;
// STACK_SPEC_CACHE=0 turns it off.
// This module loads neither yaml nor zod: on a hit they are never imported.
import { deepFreeze } from './freeze.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from './diagnostics.js';
import { fnv1a64 } from './digest.js';
import { filesUnchanged, newLooks, recorded, unchanged, type Observation } from './fs.js';
import type { LoadProjectOptions } from './index.js';
import type { Project } from './project.js';

/** Entries kept at most; the oldest go first. */
const MAX_ENTRIES = 256;
/**
 * How many a prune leaves: a quarter below the most, so that the next 64 new entries write
 * without one. Pruning to the most itself stat'ed all 256 files at every new entry once the folder
 * was full (~3 ms of each `up` of a project whose file had just changed).
 */
const PRUNED_TO = 192;

interface Entry {
  readonly seen: readonly Observation[];
  readonly project: Project;
  readonly warnings: readonly Diagnostic[];
}

/** Where entries live (`dir` for tests). */
export function specCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(env.STACK_CACHE !== undefined && env.STACK_CACHE !== '' ? env.STACK_CACHE : '/var/cache/stack', 'spec');
}

/** This build of the loader: a rebuild (another normalization) never reads an older build's entries. */
function buildId(): string | undefined {
  try {
    const s = statSync(fileURLToPath(import.meta.url));
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * What names the loads of these options: the environment is not in it (each load kept names the
 * variables it read, spec/fs.ts watchedEnv). Its digest names the file, which holds the text
 * itself too: two texts of one digest share a file without ever taking each other's loads.
 */
function givenOf(build: string, opts: LoadProjectOptions): string {
  const given = [opts.cwd, opts.files ?? null, opts.projectName ?? null, opts.projectDirectory ?? null, opts.envFiles ?? null, opts.profiles ?? [], opts.stdin ?? null, [...new Set(opts.targets ?? [])].sort(), opts.interpolate ?? true];
  return JSON.stringify(['stack-spec-cache-3', build, process.arch, given]);
}

/** Loads kept per file, the latest first: one for each environment the variables read took (a shell with FOO=1, one without). */
const MAX_VARIANTS = 8;


/** What a load gives, and whether it came from the cache. */
export interface CachedLoad {
  readonly project: Project;
  readonly warnings: readonly Diagnostic[];
  readonly cached: boolean;
}

/** loadProject (spec/index.ts), from a kept entry when nothing it looked at changed. */
export async function loadProjectCached(opts: LoadProjectOptions, dir: string = specCacheDir(opts.env)): Promise<CachedLoad> {
  const build = opts.env.STACK_SPEC_CACHE === '0' ? undefined : buildId();
  const looks = newLooks();
  // Named services that the load without them enables already (or does not have) change nothing:
  // `up web` takes the kept load of `up`, and keeps none of its own.
  if (build !== undefined && opts.targets !== undefined && opts.targets.length > 0) {
    const { targets: _named, ...plain } = opts;
    const entry = readEntries(keptFile(build, plain, dir)).find((e) => unchanged(e.seen, opts.env, looks));
    if (entry !== undefined && !opts.targets.some((t) => entry.project.disabledServices?.includes(t))) {
      return { project: deepFreeze(entry.project), warnings: entry.warnings, cached: true };
    }
  }
  const file = build === undefined ? undefined : keptFile(build, opts, dir);
  const kept = file === undefined ? [] : readEntries(file);
  const entry = kept.find((e) => unchanged(e.seen, opts.env, looks));
  if (entry !== undefined) return { project: deepFreeze(entry.project), warnings: entry.warnings, cached: true };
  const { loadProject } = await import('./index.js');
  const { value, seen } = await recorded(() => loadProject(opts));
  if (file !== undefined && seen !== undefined) {
    // Beside it, the loads kept before that another environment would still use. One whose
    // files changed since (the compose file edited) is dropped, not parsed and written again at
    // every command; a file changed back (a branch checked out again) then loads anew once.
    const others = kept.filter((e) => filesUnchanged(e.seen, looks));
    keep(dir, file, [{ seen, project: value.project, warnings: value.warnings }, ...others].slice(0, MAX_VARIANTS));
  }
  return { ...value, cached: false };
}

/** A file of kept loads, and the text of the options it is for. */
interface KeptFile {
  readonly path: string;
  readonly given: string;
}

/** The file that keeps the loads of `opts` in `dir`. */
function keptFile(build: string, opts: LoadProjectOptions, dir: string): KeptFile {
  const given = givenOf(build, opts);
  return { path: join(dir, `${fnv1a64(given)}.json`), given };
}

/** The loads kept for `given` (none when its file holds another text of the same digest). */
function readEntries({ path, given }: KeptFile): Entry[] {
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as { given?: unknown; variants?: unknown };
    if (file.given !== given || !Array.isArray(file.variants)) return [];
    return (file.variants as Entry[]).filter((e) => Array.isArray(e?.seen) && e.project !== undefined && Array.isArray(e.warnings));
  } catch {
    return [];
  }
}

/** Writes the loads kept for one key (atomically); best effort: a cache that cannot be written only costs the next load. */
function keep(dir: string, { path, given }: KeptFile, variants: readonly Entry[]): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ given, variants }), { mode: 0o600 });
    const added = !existsSync(path); // a file replaced adds no entry: the folder is not listed
    renameSync(tmp, path);
    const names = added ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
    if (names.length > MAX_ENTRIES) {
      const byAge = names.map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.t - b.t);
      for (const { n } of byAge.slice(0, names.length - PRUNED_TO)) rmSync(join(dir, n), { force: true });
    }
  } catch {
    // not kept
  }
}

// Loaded projects kept between commands (issue 11: yaml and zod, loaded and run, were ~200 ms of
// the CPU of a no-op `up`). An entry is found by what the command was given — the code's build,
// the folder, the options, the whole environment and the machine's architecture — and is used
// only if every file the load read still has the same content and every path it tested still
// tests the same (spec/fs.ts records both): an edited compose file, .env or env_file, a
// compose.override.yaml that appeared, a changed variable, all load anew. Errors are never kept
// (a bad spec is reported from a fresh load), nor a load that read stdin (`-f -`). Entries live
// in /var/cache/stack/spec (STACK_CACHE), 0600 in a 0700 folder; STACK_SPEC_CACHE=0 turns it off.
// This module loads neither yaml nor zod: on a hit they are never imported.
import { deepFreeze } from './freeze.js';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from './diagnostics.js';
import { recorded, unchanged, type Observation } from './fs.js';
import type { LoadProjectOptions } from './index.js';
import type { Project } from './project.js';

/** Entries kept at most; the oldest go first. */
const MAX_ENTRIES = 256;

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

function keyOf(build: string, opts: LoadProjectOptions): string {
  const env = Object.entries(opts.env).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  const given = [opts.cwd, opts.files ?? null, opts.projectName ?? null, opts.projectDirectory ?? null, opts.envFiles ?? null, opts.profiles ?? [], opts.stdin ?? null];
  return createHash('sha256').update(JSON.stringify(['stack-spec-cache-1', build, process.arch, given, env])).digest('hex');
}


/** What a load gives, and whether it came from the cache. */
export interface CachedLoad {
  readonly project: Project;
  readonly warnings: readonly Diagnostic[];
  readonly cached: boolean;
}

/** loadProject (spec/index.ts), from a kept entry when nothing it looked at changed. */
export async function loadProjectCached(opts: LoadProjectOptions, dir: string = specCacheDir(opts.env), onMiss?: () => void): Promise<CachedLoad> {
  const build = opts.env.STACK_SPEC_CACHE === '0' ? undefined : buildId();
  const path = build === undefined ? undefined : join(dir, `${keyOf(build, opts)}.json`);
  if (path !== undefined) {
    const entry = readEntry(path);
    if (entry !== undefined && unchanged(entry.seen)) return { project: deepFreeze(entry.project), warnings: entry.warnings, cached: true };
  }
  onMiss?.(); // before the loader's ~100 ms of module loading (`up` starts its supervisor meanwhile)
  const { loadProject } = await import('./index.js');
  const { value, seen } = await recorded(() => loadProject(opts));
  if (path !== undefined && seen !== undefined) keep(dir, path, { seen, project: value.project, warnings: value.warnings });
  return { ...value, cached: false };
}

function readEntry(path: string): Entry | undefined {
  try {
    const entry = JSON.parse(readFileSync(path, 'utf8')) as Entry;
    return Array.isArray(entry.seen) && entry.project !== undefined && Array.isArray(entry.warnings) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the entry (atomically); best effort: a cache that cannot be written only costs the next load. */
function keep(dir: string, path: string, entry: Entry): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, path);
    const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    if (names.length > MAX_ENTRIES) {
      const byAge = names.map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.t - b.t);
      for (const { n } of byAge.slice(0, names.length - MAX_ENTRIES)) rmSync(join(dir, n), { force: true });
    }
  } catch {
    // not kept
  }
}

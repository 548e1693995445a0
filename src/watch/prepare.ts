// Checks every watch rule of the services to watch before anything is watched or started: the
// path exists, `rebuild` is on a service with `build:`, a sync target lies in a writable volume,
// the patterns parse. Each problem is a UserError naming the service and the rule.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { anonymousVolumeName } from '../runtime/index.js';
import type { Project } from '../spec/project.js';
import { volumeDataDir, type StateRoots } from '../state/paths.js';
import { readDockerignore, watchFilter } from './filter.js';
import type { PreparedRule } from './session.js';
import { syncDestination } from './sync.js';

/** The git folder of the repository `dir` is in (`.git`, or where a worktree's `.git` file points), if any. */
export function findGitDir(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    try {
      if (statSync(dotGit).isDirectory()) return dotGit;
      const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
      if (pointer) return resolve(d, pointer);
    } catch {
      // not here
    }
    if (dirname(d) === d) return undefined;
  }
}

/** How a rule is named in messages: `service "web", develop.watch rule 2 (./src)`. */
export function ruleContext(service: string, number: number, path: string): string {
  return `service "${service}", develop.watch rule ${number} (${path})`;
}

/** The services to watch: those named (each of the project, checked by the caller, must have rules), or all that have rules. */
export function watchedServices(project: Project, named: readonly string[]): string[] {
  if (named.length === 0) {
    const all = Object.values(project.services).filter((s) => (s.develop?.watch.length ?? 0) > 0).map((s) => s.name).sort();
    if (all.length === 0) {
      throw new UserError('WATCH_NOTHING', `no service of project ${project.name} has develop.watch rules`, 'add `develop: {watch: [{path: ./src, action: restart}]}` to a service');
    }
    return all;
  }
  for (const name of named) {
    const service = project.services[name];
    if (!service?.develop || service.develop.watch.length === 0) {
      throw new UserError('WATCH_NOTHING', `service "${name}" has no develop.watch rules`, 'add `develop: {watch: [{path: ./src, action: restart}]}` to it');
    }
  }
  return [...new Set(named)];
}

/**
 * Every rule of `services` (service names, not replica keys), checked and ready to watch. A rule
 * belongs to its service, and acts on every replica of it: `replicasOf` names them (planner/
 * replicas.ts keys) as they run.
 */
export function prepareRules(
  project: Project,
  services: readonly string[],
  roots: StateRoots,
  replicasOf: (service: string) => readonly string[],
): PreparedRule[] {
  const out: PreparedRule[] = [];
  for (const name of services) {
    const service = project.services[name]!;
    (service.develop?.watch ?? []).forEach((rule, i) => {
      const number = i + 1;
      const context = ruleContext(name, number, rule.path);
      if (rule.action === 'rebuild' && service.build === undefined) {
        throw new UserError(
          'WATCH_REBUILD',
          `${context}: action rebuild rebuilds the service's image, and "${name}" has no build:`,
          'give the service a build: section, or use action: restart (or sync+restart)',
        );
      }
      let isFile: boolean;
      try {
        isFile = !statSync(rule.path).isDirectory();
      } catch {
        throw new UserError('WATCH_PATH_MISSING', `${context}: ${rule.path} does not exist`, 'create it, or fix the rule\'s `path` (relative to the project folder)');
      }
      const filter = watchFilter(rule, isFile ? [] : readDockerignore(rule.path), context);
      const destination = rule.action.startsWith('sync')
        ? syncDestination(service, rule, context, (mount) => {
            if (mount.source !== undefined) return [volumeDataDir(roots, project.volumes[mount.source]?.name ?? `${project.name}_${mount.source}`)];
            // An anonymous volume is each replica's own: a copy goes into every one.
            return replicasOf(name).map((key) => volumeDataDir(roots, anonymousVolumeName(project.name, key, mount.target)));
          }, !isFile)
        : undefined;
      const gitDir = findGitDir(isFile ? dirname(rule.path) : rule.path);
      out.push({ service: name, number, rule, isFile, filter, ...(destination && { destination }), ...(gitDir !== undefined && { gitDir }) });
    });
  }
  return out;
}

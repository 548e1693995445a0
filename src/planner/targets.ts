// Which services a command acts on and how: `up web` (web and its dependencies), `restart db`
// (db and the dependents that follow it with `depends_on.db.restart: true`), `stop`, `start`.
// Each targeted service gets a ProcessMode; the others are left as they are. Pure.
import type { Project } from '../spec/project.js';

/** What the plan does with one service's process. */
export type ProcessMode =
  /**
   * `up`: recreate what changed, start what is not running, repair drift. With `noRecreate`
   * (`up --no-recreate`), a service that is there is never recreated for a change of its spec:
   * it is started if it does not run, as `start` would start it.
   */
  | { readonly kind: 'converge'; readonly noRecreate?: true }
  /** `up --force-recreate`: recreate even when unchanged. */
  | { readonly kind: 'recreate'; readonly cause: string }
  /** `start`: start what is not running; never recreate. */
  | { readonly kind: 'start'; readonly cause: string }
  /** `restart`: stop it if it runs, then start it; never recreate. */
  | { readonly kind: 'bounce'; readonly cause: string }
  /** `stop`: stop it if it runs, and nothing else. */
  | { readonly kind: 'stop'; readonly cause: string }
  /**
   * Outside the target set: only its veths on a network the plan recreates are remade, and, with
   * `follow`, it restarts when a dependency it has `restart: true` on restarts.
   */
  | { readonly kind: 'keep'; readonly follow: boolean };

/** `names` and, transitively, every service they depend on (depends_on), in spec order. */
export function withDependencies(project: Project, names: readonly string[]): string[] {
  const out = new Set<string>();
  const visit = (name: string): void => {
    if (out.has(name) || !project.services[name]) return;
    out.add(name);
    for (const dep of Object.keys(project.services[name]?.dependsOn ?? {})) visit(dep);
  };
  for (const name of names) visit(name);
  return Object.keys(project.services).filter((s) => out.has(s));
}

/**
 * The services that follow a restart of `names`: transitively, every service whose depends_on
 * entry for one of them says `restart: true`. Maps each to the dependency it follows.
 */
export function restartFollowers(project: Project, names: readonly string[]): Map<string, string> {
  const followers = new Map<string, string>();
  const queue = [...names];
  const seen = new Set(names);
  while (queue.length > 0) {
    const dep = queue.shift() as string;
    for (const [name, service] of Object.entries(project.services).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (seen.has(name) || !service.dependsOn[dep]?.restart) continue;
      seen.add(name);
      followers.set(name, dep);
      queue.push(name);
    }
  }
  return followers;
}

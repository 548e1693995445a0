// The planner: desired (Project) vs observed (LiveState) → Plan. Pure and synchronous: same
// inputs, same plan; no I/O, no clock, no randomness. `down` is reconciling against an empty
// project (down.ts). What each operation kind does is written down in plan.ts.
import type { Project, Service } from '../spec/project.js';
import type { LiveService, LiveState } from './live.js';
import { dependencies, type Draft } from './edges.js';
import type { Operation, Plan } from './plan.js';
import { planNetworks, planVolumes } from './resources.js';
import { assertNoOneOffClash } from './oneoff.js';
import { planRemoval, planService } from './services.js';
import { restartFollowers, withDependencies, type ProcessMode } from './targets.js';
import { toposort } from './toposort.js';
import { parseReplicaKey } from '../replica-key.js';
import { replicaKeys } from './replicas.js';
import type { ReconcileOptions } from './options.js';

export type { ReconcileOptions } from './options.js';

/** Options of `up` (and `stack plan`, `create`): `up SERVICE...`, `--no-deps`, `--force-recreate`, ... */
export interface UpOptions {
  /** Only these services and (unless noDeps) what they depend on; default: all. */
  readonly services?: readonly string[];
  readonly noDeps?: boolean;
  /** Recreate the targeted services even when unchanged. */
  readonly forceRecreate?: boolean;
  /** compose's --no-recreate: a service that is there is not recreated for a change of its spec (ProcessMode converge). */
  readonly noRecreate?: boolean;
  /** compose's --always-recreate-deps: the services the named ones depend on (not named themselves) are recreated. */
  readonly alwaysRecreateDeps?: boolean;
  /** compose's --no-start (and `create`): make everything, start nothing (ReconcileOptions.noStart). */
  readonly noStart?: boolean;
  /** Named services scaled to 0 (ReconcileOptions.scaledToZero). */
  readonly scaledToZero?: ReadonlySet<string>;
  /** compose's --remove-orphans (ReconcileOptions.removeOrphans). */
  readonly removeOrphans?: boolean;
  /**
   * Services of `project` that no active profile enables but that are there, kept as they are
   * (planner/disabled.ts): no operation names them, as a service an `up SERVICE` does not target.
   */
  readonly kept?: readonly string[];
}

/** The plan that brings the host from `live` to `project` (`stack plan`, `stack up`). */
export function plan(project: Project, live: LiveState, options: UpOptions = {}): Plan {
  const base = {
    removeVolumes: false,
    removedCause: 'removed from the spec',
    volumeCause: 'removed from the spec',
    removeOrphans: options.removeOrphans === true,
    refuseChangedMounts: true,
    ...(options.noStart === true && { noStart: true }),
    ...(options.scaledToZero !== undefined && options.scaledToZero.size > 0 && { scaledToZero: options.scaledToZero }),
  };
  const kept = new Set(options.kept ?? []);
  if (options.services === undefined && !options.forceRecreate && !options.noRecreate && kept.size === 0) return reconcile(project, live, base);
  const names = options.services ?? Object.keys(project.services);
  // A scaled dependency comes with every replica (planner/replicas.ts).
  const targets = (options.noDeps ? names : [...new Set(withDependencies(project, names).flatMap((n) => [n, ...replicaKeys(project.services, n)]))]).filter((n) => !kept.has(n));
  const converge: ProcessMode = options.noRecreate ? { kind: 'converge', noRecreate: true } : { kind: 'converge' };
  const mode: ProcessMode = options.forceRecreate ? { kind: 'recreate', cause: 'forced recreate' } : converge;
  // What the named services depend on (each replica of a named service being named too) is
  // recreated as compose's RecreateDependencies says: when changed, or always with
  // --always-recreate-deps; --force-recreate is for the named ones (all, when none is named).
  const named = new Set(names.flatMap((n) => [n, ...replicaKeys(project.services, n)]));
  const modeOf = (s: string): ProcessMode =>
    named.has(s) ? mode : options.alwaysRecreateDeps ? { kind: 'recreate', cause: 'a dependency of a named service (--always-recreate-deps)' } : converge;
  return reconcile(project, live, { ...base, modes: new Map(targets.map((s) => [s, modeOf(s)])), whole: options.services === undefined });
}

/**
 * `stack restart` (and watch): stop and start `services` without recreating them, then the
 * services that follow them with `depends_on.<it>.restart: true` (unless noDeps). Services never
 * started are left alone.
 */
export function planRestart(project: Project, live: LiveState, options: { services: readonly string[]; cause: string; noDeps?: boolean }): Plan {
  const modes = new Map<string, ProcessMode>();
  for (const s of options.services) if (live.services[s]) modes.set(s, { kind: 'bounce', cause: options.cause });
  if (!options.noDeps) {
    for (const [s, dep] of restartFollowers(project, options.services))
      if (live.services[s]?.process) modes.set(s, { kind: 'bounce', cause: `${dep} restarted` });
  }
  return reconcile(project, live, { removeVolumes: false, removedCause: options.cause, volumeCause: options.cause, modes, follow: !options.noDeps });
}

/** `stack stop`: stop `services` that run, dependents first; nothing else. */
export function planStop(project: Project, live: LiveState, options: { services: readonly string[]; cause: string }): Plan {
  const modes = new Map<string, ProcessMode>(options.services.map((s) => [s, { kind: 'stop', cause: options.cause }]));
  return reconcile(project, live, { removeVolumes: false, removedCause: options.cause, volumeCause: options.cause, modes });
}

/** `stack start`: start `services` and what they depend on where not running; never recreate. */
export function planStart(project: Project, live: LiveState, options: { services: readonly string[]; cause: string }): Plan {
  const mode: ProcessMode = { kind: 'start', cause: options.cause };
  const modes = new Map(withDependencies(project, options.services).flatMap((s) => [s, ...replicaKeys(project.services, s)]).map((s) => [s, mode]));
  return reconcile(project, live, { removeVolumes: false, removedCause: options.cause, volumeCause: options.cause, modes });
}

/** Phases, for a readable order among operations that could run at the same time. */
const PHASES: readonly Operation['kind'][] = [
  'stop-service',
  'detach-veth',
  'remove-netns',
  'remove-service',
  'remove-network',
  'remove-volume',
  'unmount-volume',
  'create-network',
  'create-volume',
  'create-netns',
  'attach-veth',
  'start-service',
];

/** Desired vs observed → Plan, with the options that tell `up` from `down`. */
export function reconcile(project: Project, live: LiveState, options: ReconcileOptions): Plan {
  const drafts = new Map<string, Draft>();
  const add = (d: Draft): void => {
    if (options.noStart === true && d.kind === 'start-service') return; // `up --no-start`, `create`
    if (!drafts.has(d.id)) drafts.set(d.id, d);
  };

  const serviceOrder = toposort(
    Object.keys(project.services).sort(),
    (s) => Object.keys(project.services[s]?.dependsOn ?? {}),
    'depends_on',
    'remove one depends_on entry of the cycle',
  );
  assertNoOneOffClash(project, live);
  const modes = options.modes;
  const cleans = !modes || options.whole === true;
  const modeOf = (name: string): ProcessMode => (modes ? (modes.get(name) ?? { kind: 'keep', follow: options.follow ?? true }) : { kind: 'converge' });
  // Replicas beyond the count (scaled down) go with their service's up, targeted or not.
  const scaledDown = (s: string): boolean => {
    const of = parseReplicaKey(s)?.service;
    return of !== undefined && project.services[of] !== undefined && ['converge', 'recreate'].includes(modeOf(of).kind);
  };
  // What the project no longer has that goes, and why. A one-off is no orphan unless it goes with
  // `down`, or with --remove-orphans once it has ended (compose's: a one-off container that exited).
  const orphanCause = (s: string): string | undefined => {
    const observed = live.services[s];
    if (project.services[s] !== undefined || observed === undefined) return undefined;
    if (observed.oneOff !== undefined) {
      if (options.removeOneOffs === true) return options.removedCause;
      return options.removeOrphans === true && observed.process?.alive !== true ? 'a one-off that ended (--remove-orphans)' : undefined;
    }
    if (scaledDown(s)) return `scaled to ${replicaCountOf(project, s)}`;
    if (options.scaledToZero?.has(parseReplicaKey(s)?.service ?? s) === true) return 'scaled to 0';
    return cleans || options.removeOrphans === true ? options.removedCause : undefined;
  };
  const orphanCauses = new Map(
    Object.keys(live.services)
      .sort()
      .flatMap((s) => {
        const cause = orphanCause(s);
        return cause === undefined ? [] : [[s, cause] as const];
      }),
  );
  const orphans = [...orphanCauses.keys()];
  const touchesResources = (name: string): boolean => !['keep', 'stop'].includes(modeOf(name).kind);

  const scope = modes && !options.whole ? scoped(project, serviceOrder.filter(touchesResources)) : project;
  // The networks the one-offs that stay are plugged into.
  const held = new Set(Object.values(live.services).flatMap((s) => (s.oneOff !== undefined && !orphanCauses.has(s.name) ? Object.keys(s.veths) : [])));
  const recreatedNetworks = planNetworks(scope, live, { ...options, removeUnused: cleans }, add, held);
  planVolumes(scope, live, options, add);

  const restarted = new Set<string>();
  for (const name of serviceOrder) {
    const spec = project.services[name] as Service;
    const observed = live.services[name];
    const bounced = planService(spec, observed, restarted, recreatedNetworks, add, modeOf(name));
    if (bounced) restarted.add(name);
  }
  for (const [name, cause] of orphanCauses) planRemoval(live.services[name] as LiveService, cause, add);

  const all = [...drafts.values()];
  const deps = dependencies(all, project, live);
  const position = [...serviceOrder, ...orphans];
  const rank = (d: Draft): [number, number, string] => {
    const phase = PHASES.indexOf(d.kind);
    if (d.kind === 'start-service') return [phase, position.indexOf(d.service), d.id];
    if (d.kind === 'stop-service') return [phase, -position.indexOf(d.service), d.id];
    return [phase, 0, d.id];
  };
  const ranked = [...all].sort((a, b) => compareRank(rank(a), rank(b))).map((d) => d.id);
  const ordered = toposort(ranked, (id) => deps.get(id) ?? [], 'the plan');
  const direct = withoutImplied(ordered, deps);
  const at = new Map(ordered.map((id, i) => [id, i]));
  const operations = ordered.map((id) => {
    const draft = drafts.get(id) as Draft;
    const dependsOn = [...(direct.get(id) ?? [])].sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0));
    return { ...draft, dependsOn } as Operation;
  });
  return { project: project.name, operations };
}

/** The project reduced to the networks and volumes `services` use (what a targeted plan may make). */
function scoped(project: Project, services: readonly string[]): Project {
  const used = services.map((s) => project.services[s] as Service);
  const networks = new Set(used.flatMap((s) => Object.keys(s.networks)));
  const volumes = new Set(used.flatMap((s) => s.volumes.flatMap((m) => (m.type === 'volume' && m.source !== undefined ? [m.source] : []))));
  return {
    ...project,
    networks: Object.fromEntries(Object.entries(project.networks).filter(([k]) => networks.has(k))),
    volumes: Object.fromEntries(Object.entries(project.volumes).filter(([k]) => volumes.has(k))),
  };
}

/** Drops a dependency that another dependency already waits for (same order, shorter lists). */
function withoutImplied(ordered: readonly string[], deps: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const reach = new Map<string, Set<string>>();
  const direct = new Map<string, string[]>();
  for (const id of ordered) {
    const mine = deps.get(id) ?? [];
    const all = new Set<string>();
    for (const d of mine) for (const r of reach.get(d) ?? []) all.add(r);
    direct.set(id, mine.filter((d) => !all.has(d)));
    for (const d of mine) all.add(d);
    reach.set(id, all);
  }
  return direct;
}

/** How many replicas of the service of replica key `key` the project runs. */
function replicaCountOf(project: Project, key: string): number {
  const of = parseReplicaKey(key)?.service;
  return Object.values(project.services).filter((s) => s.name === of || s.replica?.of === of).length;
}

function compareRank(a: [number, number, string], b: [number, number, string]): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}

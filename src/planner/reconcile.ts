// The planner: desired (Project) vs observed (LiveState) → Plan. Pure and synchronous: same
// inputs, same plan; no I/O, no clock, no randomness. `down` is reconciling against an empty
// project. What each operation kind does is written down in plan.ts.
import type { Project, Service } from '../spec/project.js';
import type { LiveService, LiveState } from '../state/live.js';
import { dependencies, opId, type Draft } from './edges.js';
import { attachmentHash, describeChange, hashNetwork, hashService } from './hash.js';
import type { Operation, Plan } from './plan.js';
import { toposort } from './toposort.js';

/** How a reconcile treats what the project no longer wants. */
export interface ReconcileOptions {
  /** Remove volumes the project does not declare (named and anonymous): `down -v`. */
  readonly removeVolumes: boolean;
  /** Cause of the operations that take away what the project no longer has. */
  readonly removedCause: string;
  /** Cause of volume removals. */
  readonly volumeCause: string;
}

/** The plan that brings the host from `live` to `project` (`stack plan`, `stack up`). */
export function plan(project: Project, live: LiveState): Plan {
  return reconcile(project, live, {
    removeVolumes: false,
    removedCause: 'removed from the spec',
    volumeCause: 'removed from the spec',
  });
}

/** The plan that removes everything of the project (`stack down`, `-v` for volumes too). */
export function planDown(live: LiveState, options: { volumes: boolean }): Plan {
  const empty: Project = { name: live.project, workingDir: '', files: [], services: {}, networks: {}, volumes: {} };
  return reconcile(empty, live, {
    removeVolumes: options.volumes,
    removedCause: 'stack down',
    volumeCause: 'stack down -v',
  });
}

/** Phases, for a readable order among operations that could run at the same time. */
const PHASES: readonly Operation['kind'][] = [
  'stop-service',
  'detach-veth',
  'remove-netns',
  'remove-service',
  'remove-network',
  'remove-volume',
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
    if (!drafts.has(d.id)) drafts.set(d.id, d);
  };

  const serviceOrder = toposort(
    Object.keys(project.services).sort(),
    (s) => Object.keys(project.services[s]?.dependsOn ?? {}),
    'depends_on',
    'remove one depends_on entry of the cycle',
  );
  const orphans = Object.keys(live.services)
    .filter((s) => !project.services[s])
    .sort();

  const recreatedNetworks = planNetworks(project, live, options, add);
  planVolumes(project, live, options, add);

  const restarted = new Set<string>();
  for (const name of serviceOrder) {
    const spec = project.services[name] as Service;
    const observed = live.services[name];
    const bounced = planService(spec, observed, restarted, recreatedNetworks, add);
    if (bounced) restarted.add(name);
  }
  for (const name of orphans) planRemoval(live.services[name] as LiveService, options.removedCause, add);

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

function compareRank(a: [number, number, string], b: [number, number, string]): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}

/** Networks to create, recreate (remove + create) or remove; returns recreated keys → cause. */
function planNetworks(
  project: Project,
  live: LiveState,
  options: ReconcileOptions,
  add: (d: Draft) => void,
): Map<string, string> {
  const recreated = new Map<string, string>();
  const wanted = Object.values(project.networks)
    .filter((n) => !n.external)
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const network of wanted) {
    const stamp = hashNetwork(network);
    const observed = live.networks[network.key];
    const resource = `network:${network.key}`;
    let cause: string | undefined;
    if (!observed) cause = 'new network';
    else if (observed.config.hash !== stamp.hash) cause = describeChange(observed.config, stamp);
    else if (!observed.bridge.present) cause = `bridge ${observed.bridge.name} gone`;
    if (cause === undefined) continue;
    if (observed) {
      add({ id: opId('remove-network', network.key), kind: 'remove-network', network: network.key, resource, cause });
      recreated.set(network.key, `network ${network.key}: ${cause}`);
    }
    add({ id: opId('create-network', network.key), kind: 'create-network', network: network.key, resource, cause, stamp });
  }
  for (const key of Object.keys(live.networks).sort()) {
    if (wanted.some((n) => n.key === key)) continue;
    add({ id: opId('remove-network', key), kind: 'remove-network', network: key, resource: `network:${key}`, cause: options.removedCause });
  }
  return recreated;
}

/** Named volumes to create; with removeVolumes, every volume the project does not keep goes. */
function planVolumes(project: Project, live: LiveState, options: ReconcileOptions, add: (d: Draft) => void): void {
  const wanted = Object.values(project.volumes).filter((v) => !v.external);
  for (const volume of [...wanted].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const observed = live.volumes[volume.key];
    const cause = !observed ? 'new volume' : !observed.present ? `folder ${observed.path} gone` : undefined;
    if (cause === undefined) continue;
    add({ id: opId('create-volume', volume.key), kind: 'create-volume', volume: volume.key, resource: `volume:${volume.key}`, cause });
  }
  if (!options.removeVolumes) return;
  for (const [key, observed] of Object.entries(live.volumes).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kept = observed.owner !== undefined ? project.services[observed.owner] : wanted.some((v) => v.key === key);
    if (kept) continue;
    add({
      id: opId('remove-volume', key),
      kind: 'remove-volume',
      volume: key,
      resource: `volume:${key}`,
      cause: options.volumeCause,
      destructive: true,
    });
  }
}

/** The veths a service wants: higher priority first, then by network key → eth0, eth1, ... */
function attachments(spec: Service): { network: string; index: number; attachHash: string }[] {
  return Object.entries(spec.networks)
    .sort(([ka, a], [kb, b]) => b.priority - a.priority || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([network, sn], index) => ({ network, index, attachHash: attachmentHash(index, sn.ipv4Address) }));
}

/**
 * Operations for a service the project wants. Returns true when its running process is stopped
 * and started again (its dependents with `depends_on.restart` follow).
 */
function planService(
  spec: Service,
  observed: LiveService | undefined,
  restarted: ReadonlySet<string>,
  recreatedNetworks: ReadonlyMap<string, string>,
  add: (d: Draft) => void,
): boolean {
  const name = spec.name;
  const stamp = hashService(spec);
  const running = observed?.process?.alive === true;
  const netnsCause = !observed
    ? 'new service'
    : !observed.netns
      ? 'netns missing'
      : !observed.netns.present
        ? `netns ${observed.netns.name} gone`
        : undefined;
  const restartedDep = Object.entries(spec.dependsOn)
    .filter(([dep, d]) => d.restart && restarted.has(dep))
    .map(([dep]) => dep)[0];

  let process: { stop: boolean; remove: boolean; cause: string } | undefined;
  if (!observed) process = { stop: false, remove: false, cause: 'new service' };
  else if (observed.config && observed.config.hash !== stamp.hash)
    process = { stop: running, remove: true, cause: describeChange(observed.config, stamp) };
  else if (!running) process = { stop: false, remove: false, cause: observed.process ? 'not running' : 'not started' };
  else if (netnsCause) process = { stop: true, remove: false, cause: netnsCause };
  else if (restartedDep) process = { stop: true, remove: false, cause: `${restartedDep} restarted` };

  const svc = { service: name, resource: `service:${name}` };
  if (process?.stop) add({ id: opId('stop-service', name), kind: 'stop-service', ...svc, cause: process.cause });
  if (process?.remove) add({ id: opId('remove-service', name), kind: 'remove-service', ...svc, cause: process.cause });

  if (netnsCause)
    add({ id: opId('create-netns', name), kind: 'create-netns', service: name, resource: `netns:${name}`, cause: netnsCause });

  const wanted = attachments(spec);
  for (const { network, index, attachHash } of wanted) {
    const veth = observed?.veths[network];
    const target = { service: name, network, resource: `veth:${name}/${network}` };
    let cause: string | undefined;
    let detachFirst = false;
    if (netnsCause ?? recreatedNetworks.get(network)) {
      cause = netnsCause ?? recreatedNetworks.get(network);
      detachFirst = veth?.host.present === true;
    } else if (!veth) cause = `joined network ${network}`;
    else if (!veth.host.present) cause = `veth ${veth.host.name} gone`;
    else if (veth.attachHash !== attachHash) {
      cause = process?.cause ?? `eth${index} changed`;
      detachFirst = true;
    }
    if (cause === undefined) continue;
    if (detachFirst) add({ id: opId('detach-veth', `${name}/${network}`), kind: 'detach-veth', ...target, cause });
    add({ id: opId('attach-veth', `${name}/${network}`), kind: 'attach-veth', ...target, cause, index, attachHash });
  }
  for (const network of Object.keys(observed?.veths ?? {}).sort()) {
    if (wanted.some((w) => w.network === network)) continue;
    add({
      id: opId('detach-veth', `${name}/${network}`),
      kind: 'detach-veth',
      service: name,
      network,
      resource: `veth:${name}/${network}`,
      cause: `left network ${network}`,
    });
  }

  if (process) add({ id: opId('start-service', name), kind: 'start-service', ...svc, cause: process.cause, stamp });
  return process?.stop === true;
}

/** Everything of a service the project no longer has: stop, unplug, remove. */
function planRemoval(observed: LiveService, cause: string, add: (d: Draft) => void): void {
  const name = observed.name;
  const svc = { service: name, resource: `service:${name}`, cause };
  if (observed.process?.alive) add({ id: opId('stop-service', name), kind: 'stop-service', ...svc });
  for (const network of Object.keys(observed.veths).sort()) {
    if (!observed.veths[network]?.host.present) continue;
    add({
      id: opId('detach-veth', `${name}/${network}`),
      kind: 'detach-veth',
      service: name,
      network,
      resource: `veth:${name}/${network}`,
      cause,
    });
  }
  if (observed.netns?.present)
    add({ id: opId('remove-netns', name), kind: 'remove-netns', service: name, resource: `netns:${name}`, cause });
  add({ id: opId('remove-service', name), kind: 'remove-service', ...svc });
}

// `down` as a plan like any other (compose has its own down.go): the reconcile of an empty
// project against what is live — every service stopped and removed, its netns and veths, the
// networks, the volumes with `-v` — between the two steps that belong to the project as a
// whole: its supervisor stopped first, its run folder removed last. apply() walks it as it
// walks any plan.
import type { Project } from '../spec/project.js';
import type { LiveState } from './live.js';
import type { Operation, Plan, RemoveProject, StopSupervisor } from './plan.js';
import { reconcile } from './reconcile.js';
import { opId } from './edges.js';

/** The id of a down plan's first step, which stops the supervisor before any service is stopped. */
export const STOP_SUPERVISOR_ID = 'stop-supervisor';

/**
 * The part of `live` that is `services` (no network) and, with `volumes`, their anonymous volumes:
 * what removing them takes (`stack rm`, a one-off's removal), for planRemove.
 */
export function servicesPart(live: LiveState, services: readonly string[], volumes: boolean): LiveState {
  const wanted = new Set(services);
  return {
    project: live.project,
    services: Object.fromEntries(Object.entries(live.services).filter(([s]) => wanted.has(s))),
    networks: {},
    volumes: volumes ? Object.fromEntries(Object.entries(live.volumes).filter(([, v]) => v.owner !== undefined && wanted.has(v.owner))) : {},
    warnings: [],
  };
}

/** Removes everything `live` holds, and nothing of the project as a whole (a one-off's removal). */
export function planRemove(live: LiveState, options: { volumes: boolean; cause?: string }): Plan {
  const empty: Project = { name: live.project, workingDir: '', files: [], services: {}, networks: {}, volumes: {} };
  return reconcile(empty, live, {
    removeVolumes: options.volumes,
    removedCause: options.cause ?? 'stack down',
    volumeCause: options.cause ?? 'stack down -v',
    removeOneOffs: true,
  });
}

/**
 * The plan that removes everything of the project (`stack down`, `-v` for volumes too).
 * `runFiles: false` says the project's run folder holds nothing but its lock (no supervisor,
 * no snapshot): with nothing to remove either, the plan is empty (`nothing to do`).
 */
export function planDown(live: LiveState, options: { volumes: boolean; runFiles?: boolean; cannotActOnStop?: ReadonlySet<string> }): Plan {
  const { removal, early } = unplugEarly(planRemove(live, options).operations, options.cannotActOnStop ?? new Set());
  const stop: StopSupervisor = { id: STOP_SUPERVISOR_ID, kind: 'stop-supervisor', resource: 'supervisor', cause: 'stack down', dependsOn: [] };
  // What volumes' driver_opts mounted comes off once nothing of the project runs (a volume that
  // `-v` removes is unmounted by its removal).
  const after = removal.filter((op) => op.kind === 'stop-service' || op.kind === 'remove-service').map((op) => op.id);
  const unmounts: Operation[] = Object.values(live.volumes)
    .filter((volume) => volume.mount?.mounted === true && !removal.some((op) => op.kind === 'remove-volume' && op.volume === volume.key))
    .map((volume) => ({
      id: opId('unmount-volume', volume.key),
      kind: 'unmount-volume',
      volume: volume.key,
      resource: `volume:${volume.key}`,
      cause: `its ${volume.mount!.kind} comes off with the project`,
      dependsOn: after.length > 0 ? after : [stop.id],
    }));
  if (removal.length === 0 && unmounts.length === 0 && options.runFiles === false) return { project: live.project, operations: [] };
  // Every veth is unplugged once every service has stopped (begun once their processes are
  // gone: apply() makes these dependencies late in a teardown), so the detaches run together and
  // the executor deletes them in a few batched kernel requests (netns.ts), not one each. A
  // network goes once every service has stopped too, beside the detaches rather than after them:
  // its firewall rewrite (a netlink batch, and iptables where a FORWARD policy is DROP) then overlaps the veths' and namespaces'
  // removal (a bridge deleted with ports lets go of them; the detaches delete the veths all the same).
  const stops = removal.filter((op) => op.kind === 'stop-service').map((op) => op.id);
  const afterStops = (op: Operation): Operation => ({ ...op, dependsOn: stops.length > 0 ? stops : [stop.id] });
  // A service's cgroups and runtime files too (remove-service): they then go while the kernel
  // deletes the veths, which waits for RCU grace periods with this thread idle, instead of
  // between the stops, whose work keeps it busy (its record goes with the last step of its
  // removal: executor/handlers/leaving.ts).
  const operations: Operation[] = removal.map((op) => {
    if (early.has(op.id)) return { ...op, dependsOn: [stop.id] }; // a network unplugged beside the stops
    if (op.kind === 'detach-veth' || op.kind === 'remove-service') return { ...op, dependsOn: [...new Set([...op.dependsOn, ...(stops.length > 0 ? stops : [stop.id])])] };
    if (op.kind === 'remove-network') return afterStops(op);
    return op.dependsOn.length === 0 ? { ...op, dependsOn: [stop.id] } : op;
  });
  operations.push(...unmounts);
  const waitedFor = new Set(operations.flatMap((op) => op.dependsOn));
  const last = operations.filter((op) => !waitedFor.has(op.id)).map((op) => op.id);
  const remove: RemoveProject = {
    id: 'remove-project',
    kind: 'remove-project',
    resource: `project:${live.project}`,
    cause: 'stack down',
    dependsOn: last.length > 0 ? last : [stop.id],
    sweepFirewall: Object.keys(live.networks).length > 0 && !removal.some((op) => op.kind === 'remove-network'),
  };
  return { project: live.project, operations: [stop, ...operations, remove] };
}

/**
 * Services killed together at once, and networks unplugged meanwhile. A service whose main
 * process cannot act on its stop signal (`cannotActOnStop`: a namespace's pid 1 asleep without
 * a handler, or ignoring it, seen so by `down` before planning) and whose stop waits for no stop
 * of a service that can (its dependents', all the way down) is killed at once (killAtOnce: its
 * stop sends SIGKILL), and waits for no other such stop: the order of kills matters to no one
 * who cannot act on them, and a graceful dependent still waits for them. A network whose
 * running services are all such, when every running service without a veth of its own is such
 * too (`network_mode: service:` shares another's namespace), is unplugged beside the stops, not
 * after them: its veths' and bridge's deletion (two RCU waits in the kernel, ~35-45 ms) then
 * overlaps the kills. Its services may run for the few milliseconds until their SIGKILL without
 * their network: they are killed without a grace period either way. A network with a service
 * that can act on its signal keeps the order: a graceful shutdown may need it (a database
 * waiting for its clients' connections to close, their FIN reaching it).
 */
function unplugEarly(removal: readonly Operation[], cannotActOnStop: ReadonlySet<string>): { removal: Operation[]; early: Set<string> } {
  const stops = new Map(removal.flatMap((op): [string, Operation & { kind: 'stop-service' }][] => (op.kind === 'stop-service' ? [[op.id, op]] : [])));
  const prompt = new Map<string, boolean>(); // stop id -> killed at once, with no wait for another stop
  const isPrompt = (id: string): boolean => {
    const known = prompt.get(id);
    if (known !== undefined) return known;
    prompt.set(id, false); // a cycle (none in a plan) is not prompt
    const op = stops.get(id);
    const yes = op !== undefined && cannotActOnStop.has(op.service) && op.dependsOn.every((d) => !stops.has(d) || isPrompt(d));
    prompt.set(id, yes);
    return yes;
  };
  const killed = new Set([...stops.values()].filter((op) => isPrompt(op.id)).map((op) => op.service));
  const stopping = new Set([...stops.values()].map((op) => op.service));
  const attached = new Map<string, string[]>(); // network -> its services with a veth to detach
  const withVeth = new Set<string>();
  for (const op of removal) {
    if (op.kind !== 'detach-veth') continue;
    attached.set(op.network, [...(attached.get(op.network) ?? []), op.service]);
    withVeth.add(op.service);
  }
  const sharersKilled = [...stopping].every((s) => withVeth.has(s) || killed.has(s));
  const quiet = new Set(
    [...attached]
      .filter(([, services]) => sharersKilled && services.some((s) => stopping.has(s)) && services.every((s) => !stopping.has(s) || killed.has(s)))
      .map(([network]) => network),
  );
  const earlyOps = removal.filter((op) => (op.kind === 'detach-veth' || op.kind === 'remove-network') && quiet.has(op.network));
  const early = new Set(earlyOps.map((op) => op.id));
  // What waited for an early op waited, through it, for what that op waited for (the plan keeps
  // only direct edges: a netns's removal waits for its service's stop through its veth's
  // detach): those waits are made direct before the early ops let go of them.
  // So do the stops killed at once, which let go of their waits for other stops: a graceful
  // stop that waited for one waits for the stops it waited for too (db, then api killed at once,
  // then web killed at once: db's stop still waits for web's), all the way.
  const implied = new Map<string, readonly string[]>(earlyOps.map((op) => [op.id, op.dependsOn]));
  const promptStops = [...stops.values()].filter((op) => killed.has(op.service));
  for (const op of promptStops) implied.set(op.id, op.dependsOn.filter((d) => stops.has(d)));
  const inheritedOf = (deps: readonly string[]): string[] => {
    const seen = new Set<string>();
    const visit = (id: string): void => {
      for (const d of implied.get(id) ?? []) if (!seen.has(d)) (seen.add(d), visit(d));
    };
    deps.forEach(visit);
    return [...seen];
  };
  return {
    removal: removal.map((op) => {
      if (op.kind === 'stop-service' && killed.has(op.service)) return { ...op, killAtOnce: true, dependsOn: op.dependsOn.filter((d) => !stops.has(d)) };
      const inherited = early.has(op.id) ? [] : inheritedOf(op.dependsOn);
      return inherited.length > 0 ? { ...op, dependsOn: [...new Set([...op.dependsOn, ...inherited])] } : op;
    }),
    early,
  };
}

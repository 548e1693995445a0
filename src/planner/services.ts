// Services: start, stop, recreate, restart or remove each one, with its netns and veths, and why.
// Pure, like all the planner.
import type { Service } from '../spec/project.js';
import { ownsNetns } from '../spec/namespace-modes.js';
import type { LiveService } from './live.js';
import { opId, type Draft } from './edges.js';
import { attachmentHash, describeChange, hashService } from './hash.js';
import type { ProcessMode } from './targets.js';

/** The veths a service wants: higher priority first, then by network key → eth0, eth1, ... */
export function attachments(spec: Service): { network: string; index: number; attachHash: string }[] {
  return Object.entries(spec.networks)
    .sort(([ka, a], [kb, b]) => b.priority - a.priority || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([network, sn], index) => ({ network, index, attachHash: attachmentHash(index, sn.ipv4Address) }));
}

/**
 * Operations for a service the project wants, as `mode` asks (see targets.ts). Returns true when
 * its running process is stopped and started again (its dependents with `depends_on.restart`
 * follow).
 */
export function planService(
  spec: Service,
  observed: LiveService | undefined,
  restarted: ReadonlySet<string>,
  recreatedNetworks: ReadonlyMap<string, string>,
  add: (d: Draft) => void,
  mode: ProcessMode = { kind: 'converge' },
): boolean {
  const name = spec.name;
  const restartedDep = Object.entries(spec.dependsOn)
    .filter(([dep, d]) => d.restart && restarted.has(dep))
    .map(([dep]) => dep)[0];
  // A dependency restarted: a running dependent with `restart: true` follows, targeted or not.
  if (mode.kind === 'keep' && mode.follow && restartedDep && observed?.process?.alive) mode = { kind: 'bounce', cause: `${restartedDep} restarted` };
  if (mode.kind === 'stop') {
    if (observed?.process?.alive) add({ id: opId('stop-service', name), kind: 'stop-service', service: name, resource: `service:${name}`, cause: mode.cause });
    return false;
  }
  if (mode.kind === 'start' && !observed) return false; // start never creates
  if (mode.kind === 'keep') {
    if (observed?.netns?.present) planVeths(spec, observed, undefined, undefined, recreatedNetworks, add, true);
    return false;
  }
  const stamp = hashService(spec);
  const running = observed?.process?.alive === true;
  // A service in the host's or another service's netns (network_mode) has none of its own.
  const own = ownsNetns(spec);
  const netnsCause = !own
    ? undefined
    : !observed
    ? 'new service'
    : !observed.netns
      ? 'netns missing'
      : !observed.netns.present
        ? `netns ${observed.netns.name} gone`
        : undefined;
  const changed = observed?.config && observed.config.hash !== stamp.hash ? describeChange(observed.config, stamp) : undefined;
  const stopped = observed?.process ? 'not running' : 'not started';

  let process: { stop: boolean; remove: boolean; cause: string } | undefined;
  if (!observed) process = { stop: false, remove: false, cause: 'new service' };
  else if (mode.kind === 'recreate') process = { stop: running, remove: true, cause: mode.cause };
  else if (changed && mode.kind === 'converge' && mode.noRecreate !== true) process = { stop: running, remove: true, cause: changed };
  else if (!running) process = { stop: false, remove: false, cause: mode.kind === 'converge' ? stopped : mode.cause };
  else if (netnsCause) process = { stop: true, remove: false, cause: netnsCause };
  else if (mode.kind === 'bounce') process = { stop: true, remove: false, cause: mode.cause };
  else if (restartedDep) process = { stop: true, remove: false, cause: `${restartedDep} restarted` };

  const svc = { service: name, resource: `service:${name}` };
  if (process?.stop) add({ id: opId('stop-service', name), kind: 'stop-service', ...svc, cause: process.cause });
  if (process?.remove) add({ id: opId('remove-service', name), kind: 'remove-service', ...svc, cause: process.cause });

  if (netnsCause)
    add({ id: opId('create-netns', name), kind: 'create-netns', service: name, resource: `netns:${name}`, cause: netnsCause });
  // Its own netns of before (network_mode set since): gone with the process that ran in it.
  if (!own && observed?.netns)
    add({ id: opId('remove-netns', name), kind: 'remove-netns', service: name, resource: `netns:${name}`, cause: process?.cause ?? 'network_mode changed' });

  planVeths(spec, observed, netnsCause, process?.cause, recreatedNetworks, add, false);

  if (process) add({ id: opId('start-service', name), kind: 'start-service', ...svc, cause: process.cause, stamp });
  return process?.stop === true;
}

/**
 * The service's veths: made where missing, remade where their network or netns was remade or
 * their place changed, removed from networks it left. `onlyRecreated`: only those of networks
 * the plan recreates (a service the command does not target).
 */
function planVeths(
  spec: Service,
  observed: LiveService | undefined,
  netnsCause: string | undefined,
  processCause: string | undefined,
  recreatedNetworks: ReadonlyMap<string, string>,
  add: (d: Draft) => void,
  onlyRecreated: boolean,
): void {
  const name = spec.name;
  const wanted = attachments(spec);
  for (const { network, index, attachHash } of wanted) {
    const veth = observed?.veths[network];
    const target = { service: name, network, resource: `veth:${name}/${network}` };
    let cause: string | undefined;
    let detachFirst = false;
    if (netnsCause ?? recreatedNetworks.get(network)) {
      cause = netnsCause ?? recreatedNetworks.get(network);
      detachFirst = veth?.host.present === true;
    } else if (onlyRecreated) continue;
    else if (!veth) cause = `joined network ${network}`;
    else if (!veth.host.present) cause = `veth ${veth.host.name} gone`;
    else if (veth.attachHash !== attachHash) {
      cause = processCause ?? `eth${index} changed`;
      detachFirst = true;
    }
    if (cause === undefined) continue;
    if (detachFirst) add({ id: opId('detach-veth', `${name}/${network}`), kind: 'detach-veth', ...target, cause });
    add({ id: opId('attach-veth', `${name}/${network}`), kind: 'attach-veth', ...target, cause, index, attachHash });
  }
  for (const network of Object.keys(observed?.veths ?? {}).sort()) {
    if (onlyRecreated || wanted.some((w) => w.network === network)) continue;
    add({
      id: opId('detach-veth', `${name}/${network}`),
      kind: 'detach-veth',
      service: name,
      network,
      resource: `veth:${name}/${network}`,
      cause: `left network ${network}`,
    });
  }
}

/** Everything of a service the project no longer has: stop, unplug, remove. */
export function planRemoval(observed: LiveService, cause: string, add: (d: Draft) => void): void {
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

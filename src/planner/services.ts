// Services: start, stop, recreate, restart or remove each one, with its netns and veths, and why.
// Pure, like all the planner.
import type { Service } from '../spec/project.js';
import type { LiveService } from '../state/live.js';
import { opId, type Draft } from './edges.js';
import { attachmentHash, describeChange, hashService } from './hash.js';

/** The veths a service wants: higher priority first, then by network key → eth0, eth1, ... */
export function attachments(spec: Service): { network: string; index: number; attachHash: string }[] {
  return Object.entries(spec.networks)
    .sort(([ka, a], [kb, b]) => b.priority - a.priority || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([network, sn], index) => ({ network, index, attachHash: attachmentHash(index, sn.ipv4Address) }));
}

/**
 * Operations for a service the project wants. Returns true when its running process is stopped
 * and started again (its dependents with `depends_on.restart` follow).
 */
export function planService(
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

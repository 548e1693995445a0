// Networks and volumes: what to create, recreate or remove, and why. Pure, like all the planner.
import type { Project, VolumeMount } from '../spec/project.js';
import { UserError } from '../errors.js';
import type { LiveState } from './live.js';
import { opId, type Draft } from './edges.js';
import { describeChange, FIREWALL_PENDING, hashNetwork } from './hash.js';
import type { ReconcileOptions } from './options.js';

/**
 * Networks to create, recreate (remove + create) or remove; returns recreated keys → cause. A
 * network the project no longer uses stays while a one-off this plan leaves is plugged into it
 * (`held`: a `stack run` of a service whose network no other service uses).
 */
export function planNetworks(
  project: Project,
  live: LiveState,
  options: ReconcileOptions & { readonly removeUnused: boolean },
  add: (d: Draft) => void,
  held: ReadonlySet<string> = new Set(),
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
    else if (observed.config.hash === FIREWALL_PENDING.hash) cause = 'its firewall was not written (a run failed or was cut off)';
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
    if (!options.removeUnused || wanted.some((n) => n.key === key) || held.has(key)) continue;
    const resource = `network:${key}`;
    add({ id: opId('remove-network', key), kind: 'remove-network', network: key, resource, cause: options.removedCause });
  }
  return recreated;
}

/** Named volumes to create; with removeVolumes, every volume the project does not keep goes. */
export function planVolumes(project: Project, live: LiveState, options: ReconcileOptions, add: (d: Draft) => void): void {
  const wanted = Object.values(project.volumes).filter((v) => !v.external);
  for (const volume of [...wanted].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const observed = live.volumes[volume.key];
    if (observed?.mount?.mounted === true && !sameMount(volume.mount, observed.mount)) {
      if (options.refuseChangedMounts !== true) continue; // start, restart: what is mounted stays
      const was = `${observed.mount.kind} ${observed.mount.device}${observed.mount.options.length ? ` (${observed.mount.options.join(',')})` : ''}`;
      throw new UserError(
        'VOLUME_MOUNT_CHANGED',
        `volume ${volume.key}: its driver_opts ${volume.mount ? 'changed' : 'were removed'} while ${was} is mounted on it`,
        '`stack down` takes the mount off (a tmpfs loses its files; a bound folder keeps them), then `up` mounts what the spec says',
      );
    }
    const cause = !observed
      ? 'new volume'
      : !observed.present
        ? `folder ${observed.path} gone`
        : volume.mount !== undefined && observed.mount?.mounted !== true
          ? `its ${volume.mount.kind} is not mounted (a down or a reboot took it off)`
          : undefined;
    if (cause === undefined) continue;
    const resource = `volume:${volume.key}`;
    add({ id: opId('create-volume', volume.key), kind: 'create-volume', volume: volume.key, resource, cause });
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

/** Whether the spec's mount of a volume is the one recorded (as `up` last mounted it). */
function sameMount(wanted: VolumeMount | undefined, recorded: { kind: string; device: string; options: readonly string[] }): boolean {
  return wanted !== undefined && wanted.kind === recorded.kind && wanted.device === recorded.device && wanted.options.join(',') === recorded.options.join(',');
}

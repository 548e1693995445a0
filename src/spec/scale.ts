// `scale` and `deploy.replicas`: how many replicas of a service `up` runs (compose-go: both may
// be given and must agree). What a replica cannot share with another is refused here with the
// key's place: a fixed `container_name`, a fixed host port, a fixed `ipv4_address`. `up --scale` is checked at `up`
// (planner/replicas.ts), as compose checks it.
// `deploy.mode`: `replicated` is the default; `global` is one replica a node, so one on this host
// (as compose runs it: a global service runs once), and a count above 1 is refused as swarm
// refuses replicas on a global service. The jobs (`replicated-job`, `global-job`: run until done,
// never again) are swarm's and refused by name.
import type { PortMapping, Service } from './project.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import type { ServiceSpec } from './schema.js';
import { parseInteger } from './units.js';

/** `{scale}` when the spec sets `scale` or `deploy.replicas` (absent otherwise: a service's hash stays as it was). */
export function scaleKeys(
  spec: ServiceSpec,
  ports: readonly { index: number; mappings: readonly PortMapping[] }[],
  at: (...p: (string | number)[]) => KeyPath,
  report: Report,
): Pick<Service, 'scale' | 'global'> {
  const read = (value: unknown, path: KeyPath, key: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    const n = parseInteger(value);
    if (n.ok && n.value >= 0) return n.value;
    report.error(path, 'BAD_VALUE', `\`${key}\` must be a whole number of replicas, 0 or more`, { found: String(value), expected: 'a whole number >= 0, e.g. 3' });
    return undefined;
  };
  const scale = read(spec.scale, at('scale'), 'scale');
  const replicas = read(spec.deploy?.replicas, at('deploy', 'replicas'), 'deploy.replicas');
  if (scale !== undefined && replicas !== undefined && scale !== replicas) {
    report.error(at('scale'), 'CONFLICT', '`scale` and `deploy.replicas` disagree', {
      found: `${scale} and ${replicas}`,
      hint: 'keep only one of them (compose requires them to be equal)',
    });
  }
  const count = scale ?? replicas;
  const mode = spec.deploy?.mode;
  if (mode === 'replicated-job' || mode === 'global-job') {
    report.error(at('deploy', 'mode'), 'UNSUPPORTED', `\`deploy.mode: ${mode}\` is a swarm job (run until done, never again), which stack does not run`, {
      found: mode,
      hint: "leave mode out and set restart: 'no' (or on-failure) for a service that runs once; `stack run SERVICE` runs a one-off",
    });
  }
  if (mode === 'global') {
    if (count !== undefined && count > 1) {
      const key = scale !== undefined ? 'scale' : 'deploy.replicas';
      report.error(scale !== undefined ? at('scale') : at('deploy', 'replicas'), 'CONFLICT', `a global service runs one replica on each host: \`${key}: ${count}\` cannot go with \`deploy.mode: global\``, {
        found: `${key}: ${count}`,
        hint: 'remove the count, or the mode (replicated, the default, runs the count)',
      });
    }
    return { ...(count !== undefined && { scale: Math.min(count, 1) }), global: true };
  }
  if (count === undefined) return {};
  if (count > 1) {
    const where = scale !== undefined ? `scale: ${scale}` : `deploy.replicas: ${replicas}`;
    if (spec.container_name !== undefined) {
      report.error(at('container_name'), 'CONFLICT', `a fixed \`container_name\` cannot name ${count} replicas (${where})`, {
        hint: 'remove container_name (replicas are named PROJECT-SERVICE-1..N), or run one replica',
      });
    }
    if (spec.networks && !Array.isArray(spec.networks)) {
      for (const [network, n] of Object.entries(spec.networks as Record<string, { ipv4_address?: unknown } | null>)) {
        if (n?.ipv4_address === undefined) continue;
        report.error(at('networks', network, 'ipv4_address'), 'CONFLICT', `a fixed address cannot be given to ${count} replicas (${where})`, {
          hint: 'remove ipv4_address: each replica takes an address of its own',
        });
      }
    }
    for (const { index, mappings } of ports) {
      const fixed = fixedHostPort(mappings);
      if (fixed === undefined) continue;
      report.error(at('ports', index), 'CONFLICT', `host port ${fixed} cannot be published by ${count} replicas (${where}): only one can listen on it`, {
        hint: 'publish a host range as wide as the replicas (e.g. "8000-8002:80"), or leave the host port out ("80") for a free one each',
      });
    }
  }
  return { scale: count };
}

/** The host port of a mapping that pins one (not 0, not a range shared out); undefined when none does. */
export function fixedHostPort(mappings: readonly PortMapping[]): number | undefined {
  const pinned = mappings.filter((m) => m.hostPort !== 0 && m.hostPortEnd === undefined);
  return pinned[0]?.hostPort;
}

// The ordering rules of a plan: which operation must be done before which. Only operations
// that are in the plan are linked, so independent work has no edge and runs in parallel.
import type { Project } from '../spec/project.js';
import type { LiveState } from './live.js';
import type { Operation } from './plan.js';
import { replicaKeys, replicaOf } from './replicas.js';

/** Operation ids: `<kind>:<service>`, `<kind>:<network>`, `<kind>:<service>/<network>`. */
export function opId(kind: Operation['kind'], target: string): string {
  return `${kind}:${target}`;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An operation before its dependencies are known. */
export type Draft = DistributiveOmit<Operation, 'dependsOn'>;

/** depends_on of a service as it runs (its record), else as the spec says. */
function runningDeps(name: string, project: Project, live: LiveState): readonly string[] {
  return live.services[name]?.dependsOn ?? Object.keys(project.services[name]?.dependsOn ?? {});
}

/** For every draft, the ids of the drafts it must wait for. */
export function dependencies(
  drafts: readonly Draft[],
  project: Project,
  live: LiveState,
): Map<string, string[]> {
  const has = new Set(drafts.map((d) => d.id));
  const ofKind = (kind: Operation['kind']) => drafts.filter((d) => d.kind === kind);
  const detachesOf = (service: string) =>
    ofKind('detach-veth').filter((d) => 'service' in d && d.service === service).map((d) => d.id);
  const allServiceNames = [...new Set([...Object.keys(project.services), ...Object.keys(live.services)])];

  const rules = (d: Draft): string[] => {
    switch (d.kind) {
      case 'create-network':
        return [opId('remove-network', d.network)];
      case 'remove-network':
        return ofKind('detach-veth')
          .filter((v) => v.kind === 'detach-veth' && v.network === d.network)
          .map((v) => v.id);
      case 'create-volume':
      case 'stop-supervisor': // project-wide steps of down.ts, which orders them itself
      case 'remove-project':
        return [];
      case 'remove-volume':
      case 'unmount-volume':
        return [...ofKind('stop-service'), ...ofKind('remove-service')].map((s) => s.id);
      case 'create-netns':
        return [opId('remove-netns', d.service)];
      case 'remove-netns':
        return [opId('stop-service', d.service), ...detachesOf(d.service)];
      case 'attach-veth':
        return [opId('create-netns', d.service), opId('create-network', d.network), ...detachesOf(d.service)];
      case 'detach-veth':
        return [opId('stop-service', d.service)];
      case 'start-service': {
        const spec = project.services[d.service];
        const volumes = (spec?.volumes ?? []).flatMap((m) =>
          m.type === 'volume' && m.source !== undefined ? [opId('create-volume', m.source)] : [],
        );
        return [
          opId('stop-service', d.service),
          opId('remove-service', d.service),
          opId('create-netns', d.service),
          ...ofKind('attach-veth')
            .filter((v) => v.kind === 'attach-veth' && v.service === d.service)
            .map((v) => v.id),
          ...volumes,
          // every replica of a scaled dependency (planner/replicas.ts)
          ...Object.keys(spec?.dependsOn ?? {}).flatMap((dep) => [dep, ...replicaKeys(project.services, dep)].map((key) => opId('start-service', key))),
        ];
      }
      case 'stop-service':
        // Reverse dependency order: a service stops after everything that depends on it (from
        // once their processes are gone: the executor makes these dependencies late, apply.ts).
        return allServiceNames
          .filter((other) => runningDeps(other, project, live).includes(replicaOf(d.service).service))
          .map((other) => opId('stop-service', other));
      case 'remove-service':
        // Not after the service's netns and veths, even when it leaves the project: its cgroups
        // and runtime files go while the kernel deletes the veths, and its record goes with the
        // last of these steps (executor/handlers/leaving.ts).
        return [opId('stop-service', d.service)];
    }
  };

  return new Map(drafts.map((d) => [d.id, [...new Set(rules(d))].filter((id) => has.has(id) && id !== d.id)]));
}

// depends_on → init containers, an approximation named as one: compose orders starts once, at
// `up`; an init container waits each time a pod starts. `service_healthy` waits until the
// dependency's Service accepts a connection (its ClusterIP only routes to ready pods, and
// readiness is the healthcheck); `service_completed_successfully` makes the dependency a Job and
// waits for it with `kubectl wait`, under a ServiceAccount allowed to read Jobs.
import type { Service } from '../spec/index.js';
import { meta, serviceName, type ExportContext } from './context.js';
import { projectLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { listedPorts } from './ports.js';

/** Image of the init container that waits for a port. */
export const WAIT_PORT_IMAGE = 'busybox:1.36';
/** Image of the init container that waits for a Job (`kubectl wait`). */
export const WAIT_JOB_IMAGE = 'bitnami/kubectl:1.31';
/** The ServiceAccount (and Role, RoleBinding) of pods that wait for a Job. */
export const JOB_WAITER = 'stack-job-waiter';

/** Services some exported service waits for with `service_completed_successfully`: they become Jobs. */
export function oneShots(ctx: ExportContext): Set<string> {
  const exported = new Set(ctx.services.map((s) => s.name));
  const out = new Set<string>();
  for (const s of ctx.services) {
    for (const [dep, d] of Object.entries(s.dependsOn)) {
      if (d.condition === 'service_completed_successfully' && exported.has(dep)) out.add(dep);
    }
  }
  return out;
}

/** A service's init containers for its depends_on, and whether it waits for a Job. */
export function waits(ctx: ExportContext, service: Service): { initContainers: Record<string, unknown>[]; waitsForJob: boolean } {
  const initContainers: Record<string, unknown>[] = [];
  const started: string[] = [];
  let waitsForJob = false;
  const exported = new Map(ctx.services.map((s) => [s.name, s]));
  for (const depKey of Object.keys(service.dependsOn).sort()) {
    const d = service.dependsOn[depKey]!;
    const key = `depends_on.${depKey}`;
    const dep = exported.get(depKey);
    if (!dep) {
      ctx.findings.warn(service.name, key, `${depKey} is not exported: nothing waits for it`);
      continue;
    }
    if (d.restart) ctx.findings.warn(service.name, `${key}.restart`, `restarting ${depKey} does not restart this service in Kubernetes`);
    const target = serviceName(ctx, depKey);
    if (d.condition === 'service_started') {
      started.push(depKey);
      continue;
    }
    if (d.condition === 'service_completed_successfully') {
      waitsForJob = true;
      initContainers.push({
        name: `wait-${target}`.slice(0, 63).replace(/-+$/, ''),
        image: WAIT_JOB_IMAGE,
        command: ['kubectl', 'wait', '--for=condition=complete', '--timeout=-1s', `job/${target}`],
      });
      ctx.findings.warn(service.name, key, `${depKey} becomes a Job; an init container (${WAIT_JOB_IMAGE}, ServiceAccount ${JOB_WAITER}) waits for it to complete each time a pod of this service starts`);
      const nets = Object.keys(service.networks);
      if (nets.length && nets.every((n) => ctx.project.networks[n]?.internal)) {
        ctx.findings.warn(service.name, key, `its networks are all internal: their NetworkPolicy lets no pod reach the API server, so the waiting init container cannot ask for ${depKey}'s Job until egress to the API server is allowed`);
      }
      continue;
    }
    const port = listedPorts(dep).find((p) => p.protocol === 'TCP');
    if (!port) {
      ctx.findings.warn(service.name, key, `${depKey} lists no TCP port (ports or expose), so nothing can wait for it to be healthy: this service starts at once`);
      continue;
    }
    initContainers.push({
      name: `wait-${target}`.slice(0, 63).replace(/-+$/, ''),
      image: WAIT_PORT_IMAGE,
      command: ['sh', '-c', `until nc -z -w 2 ${target} ${port.port}; do echo waiting for ${target}:${port.port}; sleep 2; done`],
    });
    ctx.findings.warn(service.name, key, `an init container waits until ${target}:${port.port} accepts a connection (a ready pod, its healthcheck passed), each time a pod of this service starts`);
  }
  if (started.length) {
    ctx.findings.warn(service.name, 'depends_on', `start order after ${started.join(', ')} is not kept: Kubernetes starts every workload at once`);
  }
  return { initContainers, waitsForJob };
}

/** The ServiceAccount, Role and RoleBinding that let a pod wait for Jobs (none when no pod does). */
export function jobWaiterObjects(ctx: ExportContext, needed: boolean): KubeObject[] {
  if (!needed) return [];
  const labels = projectLabels(ctx.project.name);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(ctx, JOB_WAITER, labels) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(ctx, JOB_WAITER, labels),
      rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(ctx, JOB_WAITER, labels),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: JOB_WAITER },
      subjects: [{ kind: 'ServiceAccount', name: JOB_WAITER, namespace: ctx.namespace }],
    },
  ];
}

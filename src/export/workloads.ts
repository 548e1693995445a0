// A compose service → its workload: a Deployment, a StatefulSet when it keeps data in a named
// volume (one replica), a DaemonSet for a global service (deploy.mode: global, one pod a node),
// or a Job when a peer waits for it to complete. The pod template carries
// the container, its volumes, init containers, host aliases and the pod-level settings.
import type { Service } from '../spec/index.js';
import { container } from './container.js';
import { meta, serviceName, type ExportContext } from './context.js';
import { JOB_WAITER, waits } from './dependencies.js';
import { seconds } from './durations.js';
import { COMPOSE_NAME_ANNOTATION, labelAnnotations, serviceLabels, selectorLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { podSecurity } from './kernel-settings.js';
import { podNamespaces } from './namespaces.js';
import { networkLabels } from './network-policies.js';
import { secretVolumes } from './secrets.js';
import { HEADLESS_SUFFIX } from './services.js';
import { hasNamedVolume, serviceVolumes } from './volumes.js';

/** Which kind of workload a service becomes. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';

/** The workload of one service; `waitsForJob` tells whether it needs the Job waiter's account. */
export function workload(ctx: ExportContext, service: Service, kind: WorkloadKind): { object: KubeObject; waitsForJob: boolean } {
  const f = ctx.findings;
  const name = serviceName(ctx, service.name);
  const annotations = {
    ...labelAnnotations(service.labels, f, service.name, 'labels'),
    ...(name !== service.name ? { [COMPOSE_NAME_ANNOTATION]: service.name } : {}),
  };
  const labels = serviceLabels(ctx.project.name, name);
  const { initContainers, waitsForJob } = waits(ctx, service);
  const main = container(ctx, service, name);
  const own = serviceVolumes(ctx, service);
  const secrets = secretVolumes(ctx, service);
  const mounts = [...own.mounts, ...secrets.mounts];
  if (mounts.length) main.volumeMounts = mounts;
  const volumes = [...own.volumes, ...secrets.volumes];
  const pod: Record<string, unknown> = {
    // compose injects no variables about other services; Kubernetes would (FOO_PORT=tcp://...).
    enableServiceLinks: false,
    automountServiceAccountToken: waitsForJob,
    ...(waitsForJob ? { serviceAccountName: JOB_WAITER } : {}),
    ...(initContainers.length ? { initContainers } : {}),
    containers: [main],
    ...(volumes.length ? { volumes } : {}),
    terminationGracePeriodSeconds: seconds(service.stopGracePeriodMs, 0, f, service.name, 'stop_grace_period'),
  };
  podSettings(ctx, service, name, pod);
  podNamespaces(ctx, service, pod);
  const security = podSecurity(ctx, service);
  if (Object.keys(security).length) pod.securityContext = security;
  const template = { metadata: { labels: { ...labels, ...networkLabels(ctx, service) }, ...(Object.keys(annotations).length ? { annotations } : {}) }, spec: pod };
  const metadata = meta(ctx, name, labels, annotations);
  if (kind === 'Job') {
    if ((service.scale ?? 1) !== 1) f.warn(service.name, 'scale', `scale ${service.scale} on a service peers wait to complete: its Job runs one pod to completion`);
    const r = service.restart;
    pod.restartPolicy = r.kind === 'on-failure' ? 'OnFailure' : 'Never';
    const backoffLimit = r.kind === 'on-failure' ? (r.maxRetries ?? 6) : 0;
    if (r.kind === 'always' || r.kind === 'unless-stopped') {
      f.warn(service.name, 'restart', `restart: ${r.kind} on a service peers wait to complete: as a Job it runs until it succeeds once`);
    } else if (r.kind === 'on-failure' && r.maxRetries === undefined) {
      f.warn(service.name, 'restart', 'on-failure without a limit: a Job retries 6 times (backoffLimit) and then fails');
    }
    return { object: { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: { backoffLimit, template } }, waitsForJob };
  }
  restartNamed(ctx, service, kind);
  const selector = { matchLabels: selectorLabels(ctx.project.name, name) };
  if (kind === 'DaemonSet') {
    if (service.scale === 0) f.warn(service.name, 'scale', 'scale 0 on a global service: a DaemonSet runs one pod on every node it may (a nodeSelector that matches none runs none)');
    if (hasNamedVolume(ctx, service)) {
      f.warn(service.name, 'volumes', "a global service's pods, one on each node, share the named volume's one claim: more than one node needs a ReadWriteMany volume");
    }
    return { object: { apiVersion: 'apps/v1', kind, metadata, spec: { selector, template } }, waitsForJob };
  }
  const replicas = replicaCount(ctx, service, kind);
  const spec =
    kind === 'StatefulSet'
      ? { serviceName: `${name}${HEADLESS_SUFFIX}`, replicas, selector, template }
      : { replicas, selector, template };
  return { object: { apiVersion: 'apps/v1', kind, metadata, spec }, waitsForJob };
}

/** A Deployment's, StatefulSet's or DaemonSet's pods always restart their container: other policies are named. */
function restartNamed(ctx: ExportContext, service: Service, kind: WorkloadKind): void {
  const r = service.restart;
  if (r.kind === 'always' || r.kind === 'unless-stopped') return;
  const what = r.kind === 'no' ? 'no (the default)' : `on-failure${r.maxRetries !== undefined ? `:${r.maxRetries}` : ''}`;
  ctx.findings.warn(service.name, 'restart', `restart: ${what} cannot be kept: a ${kind === 'DaemonSet' ? "DaemonSet's" : "Deployment's or StatefulSet's"} pod restarts its container whenever it exits (restartPolicy Always)`);
}

/** hostname, extra_hosts, platform, and the keys with no pod equivalent. */
function podSettings(ctx: ExportContext, service: Service, name: string, pod: Record<string, unknown>): void {
  const f = ctx.findings;
  if (service.hostname !== service.name) {
    if (service.hostname.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(service.hostname)) pod.hostname = service.hostname;
    else f.warn(service.name, 'hostname', `"${service.hostname}" is not a DNS-1123 label: the pod keeps its generated hostname`);
  }
  if (service.containerName !== undefined) {
    f.warn(service.name, 'container_name', `"${service.containerName}" is not carried: pods get generated names; peers reach the service as "${name}"`);
  }
  const byIp = new Map<string, string[]>();
  service.extraHosts.forEach((h, i) => {
    if (h.ip === 'host-gateway') {
      f.warn(service.name, `extra_hosts[${i}]`, `${h.host}:host-gateway left out: a pod has no host gateway address to name`);
      return;
    }
    byIp.set(h.ip, [...(byIp.get(h.ip) ?? []), h.host]);
  });
  if (byIp.size) pod.hostAliases = [...byIp].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ip, hostnames]) => ({ ip, hostnames }));
  if (service.platform) {
    pod.nodeSelector = { 'kubernetes.io/os': service.platform.os, 'kubernetes.io/arch': service.platform.architecture };
  }
  if (service.stopSignalSet && service.stopSignal !== 'SIGTERM') {
    f.warn(service.name, 'stop_signal', `${service.stopSignal} cannot be set on a pod: Kubernetes sends the image's STOPSIGNAL (else SIGTERM)`);
  }
  if (service.init) f.warn(service.name, 'init', 'no init process is added: the program runs as pid 1 (use an image with tini, or shareProcessNamespace)');
  if (service.develop) f.warn(service.name, 'develop', 'develop.watch is a development loop of `stack watch`: not exported');
  if (service.show?.length) f.warn(service.name, 'x-stack-show', 'host paths shown to the service are not carried: a pod sees none of this machine');
  for (const [net, sn] of Object.entries(service.networks)) {
    if (sn.ipv4Address !== undefined) f.warn(service.name, `networks.${net}.ipv4_address`, `fixed address ${sn.ipv4Address} left out: the cluster assigns pod addresses`);
  }
  if (service.build) {
    f.warn(service.name, 'build', `not built: the manifests use image ${service.image} (what \`stack build\` names it), which must be pushed to a registry the cluster pulls from (name it there in image:, then \`stack push\`)`);
  }
}

/** `replicas` of a Deployment or StatefulSet: the service's `scale` / `deploy.replicas` (1 when unset). */
function replicaCount(ctx: ExportContext, service: Service, kind: WorkloadKind): number {
  const n = service.scale ?? 1;
  if (kind === 'StatefulSet' && n > 1) {
    ctx.findings.warn(service.name, 'scale', `scale ${n} with a named volume: compose's replicas share the volume; the StatefulSet's ${n} pods share its one claim, which a ReadWriteOnce volume allows only on one node`);
  }
  return n;
}

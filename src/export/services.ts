// Kubernetes Services: one ClusterIP Service per compose service that lists ports (its DNS name
// is the service's), one more for its aliases, a `-published` one of `--service-type` for the
// ports published on the host, and the headless Service a StatefulSet needs.
import type { Service } from '../spec/index.js';
import { meta, serviceName, type ExportContext } from './context.js';
import { selectorLabels, serviceLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { isDnsLabel } from './naming.js';
import { listedPorts, portName, type ListedPort } from './ports.js';

/** Lowest and highest port a NodePort may have (the cluster default range). */
export const NODE_PORT_RANGE = [30000, 32767] as const;

/** Suffix of the Service that publishes a service's host ports. */
export const PUBLISHED_SUFFIX = '-published';
/** Suffix of a StatefulSet's headless Service. */
export const HEADLESS_SUFFIX = '-headless';

/** The Services of one compose service. */
export function servicesOf(ctx: ExportContext, service: Service, stateful: boolean, taken: Set<string>): KubeObject[] {
  const name = serviceName(ctx, service.name);
  const labels = serviceLabels(ctx.project.name, name);
  const selector = selectorLabels(ctx.project.name, name);
  const listed = listedPorts(service);
  const ports = listed.map((p) => servicePort(p, listed.length));
  const out: KubeObject[] = [];
  if (listed.length) {
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(ctx, name, labels), spec: { type: 'ClusterIP', selector, ports } });
    for (const alias of aliases(ctx, service, name, taken)) {
      out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(ctx, alias, labels), spec: { type: 'ClusterIP', selector, ports } });
    }
  }
  if (stateful) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(ctx, `${name}${HEADLESS_SUFFIX}`, labels),
      spec: { clusterIP: 'None', selector, ...(listed.length ? { ports } : {}) },
    });
  }
  const published = publishedService(ctx, service, name, labels, selector);
  if (published) out.push(published);
  return out;
}

function servicePort(p: ListedPort, count: number): Record<string, unknown> {
  return { ...(count > 1 ? { name: portName(p) } : {}), port: p.port, protocol: p.protocol, targetPort: p.port };
}

/** Network aliases as Service names (an alias is a DNS name peers use), each valid and free. */
function aliases(ctx: ExportContext, service: Service, name: string, taken: Set<string>): string[] {
  const out: string[] = [];
  for (const [network, sn] of Object.entries(service.networks).sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const alias of sn.aliases) {
      const key = `networks.${network}.aliases`;
      if (alias === service.name || alias === name || out.includes(alias)) continue;
      if (!isDnsLabel(alias)) {
        ctx.findings.warn(service.name, key, `alias "${alias}" is not a valid Service name (a DNS-1123 label starting with a letter): peers cannot use it`);
        continue;
      }
      if (taken.has(alias)) {
        ctx.findings.warn(service.name, key, `alias "${alias}" is already the name of another Service: peers cannot use it for ${service.name}`);
        continue;
      }
      taken.add(alias);
      out.push(alias);
    }
  }
  return out;
}

function publishedService(
  ctx: ExportContext,
  service: Service,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
): KubeObject | undefined {
  const type = ctx.options.serviceType;
  const ports: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  service.ports.forEach((p, i) => {
    const key = `ports[${i}]`;
    const protocol = p.protocol === 'udp' ? 'UDP' : 'TCP';
    if (type === 'ClusterIP') {
      ctx.findings.warn(service.name, key, `host port ${p.hostPort || '(any)'} is not published outside the cluster (--service-type ClusterIP); reach it with kubectl port-forward service/${name} ${p.hostPort || p.containerPort}:${p.containerPort}`);
      return;
    }
    if (p.hostIp !== '0.0.0.0' && p.hostIp !== '::') {
      ctx.findings.warn(service.name, `${key}.host_ip`, `published on ${p.hostIp} only; the ${type} Service listens on every address the cluster gives it`);
    }
    let port = p.hostPort;
    if (port === 0) {
      port = p.containerPort;
      ctx.findings.warn(service.name, key, `published on a random host port; the ${type} Service uses ${port}, the container's port`);
    }
    const id = `${protocol}/${port}`;
    if (seen.has(id)) return;
    seen.add(id);
    const entry: Record<string, unknown> = { name: `${protocol.toLowerCase()}-${port}`, port, protocol, targetPort: p.containerPort };
    if (type === 'NodePort') {
      if (port >= NODE_PORT_RANGE[0] && port <= NODE_PORT_RANGE[1]) entry.nodePort = port;
      else ctx.findings.warn(service.name, key, `host port ${port} cannot be a node port (${NODE_PORT_RANGE.join('-')}): the cluster picks the node port (kubectl get service ${name}${PUBLISHED_SUFFIX})`);
    }
    ports.push(entry);
  });
  if (!ports.length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(ctx, `${name}${PUBLISHED_SUFFIX}`, labels),
    spec: { type, selector, ports },
  };
}

// networks → NetworkPolicies that allow exactly what the compose networks allowed: pods of
// services that share a network reach each other, on any port; an `internal` network's pods
// reach nothing outside but their peers and the cluster DNS. Policies add up, as a service on
// two networks talks on both. Published ports are open to everyone. Only network plugins that
// implement NetworkPolicy enforce any of it: that is named.
import type { Service } from '../spec/index.js';
import { meta, serviceName, type ExportContext } from './context.js';
import { PROJECT_LABEL, labelAnnotations, labelValue, projectLabels, selectorLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { toDnsLabel } from './naming.js';
import { isolated } from './namespaces.js';

/** Prefix of the label that marks a pod as a member of a compose network. */
export const NETWORK_LABEL_PREFIX = 'stack.network/';

/** The label key of a network's members. */
export function networkLabel(ctx: ExportContext, network: string): string {
  return `${NETWORK_LABEL_PREFIX}${ctx.names.networks.get(network)!}`;
}

/** The network-membership labels of a service's pods. */
export function networkLabels(ctx: ExportContext, service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.keys(service.networks)
      .sort()
      .map((n) => [networkLabel(ctx, n), 'true']),
  );
}

/** The cluster DNS a pod on an internal network may still ask. */
const CLUSTER_DNS = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

/**
 * Egress of a non-internal network: anywhere (every pod, every address) but 169.254.0.0/16,
 * the cloud metadata service, which stack drops unless `x-stack-allow-link-local: true`.
 */
const OUTSIDE_BUT_LINK_LOCAL = {
  to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }, { ipBlock: { cidr: '::/0' } }, { namespaceSelector: {} }],
};

/** One policy per network the exported services join, and one per service with published ports. */
export function networkPolicies(ctx: ExportContext): KubeObject[] {
  const out: KubeObject[] = [];
  // network_mode: none: nothing in, nothing out (a policy with no rule of either kind).
  for (const service of ctx.services.filter(isolated)) {
    const name = serviceName(ctx, service.name);
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(ctx, toDnsLabel(`${name}-no-network`), projectLabels(ctx.project.name)),
      spec: { podSelector: { matchLabels: selectorLabels(ctx.project.name, name) }, policyTypes: ['Ingress', 'Egress'] },
    });
  }
  const used = [...new Set(ctx.services.flatMap((s) => Object.keys(s.networks)))].sort();
  if (!used.length) return out;
  ctx.findings.warn(undefined, 'networks', 'written as NetworkPolicies, which only some network plugins enforce (Calico, Cilium, ...); on others every pod reaches every pod');
  for (const key of used) {
    const network = ctx.project.networks[key];
    const label = networkLabel(ctx, key);
    const members = { matchLabels: { [label]: 'true', [PROJECT_LABEL]: labelValue(ctx.project.name) } };
    if (network?.external) ctx.findings.warn(undefined, `networks.${key}.external`, "other projects' containers on this network are not carried: only this project's services on it reach each other");
    if (network?.ipam.length) ctx.findings.warn(undefined, `networks.${key}.ipam`, 'subnets and gateways are not carried: the cluster assigns pod addresses');
    const internal = network?.internal ?? false;
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(ctx, toDnsLabel(`network-${ctx.names.networks.get(key)!}`), projectLabels(ctx.project.name), network ? labelAnnotations(network.labels, ctx.findings, undefined, `networks.${key}.labels`) : {}),
      spec: {
        podSelector: members,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: members }] }],
        egress: internal ? [{ to: [{ podSelector: members }] }, CLUSTER_DNS] : [network?.allowLinkLocal ? {} : OUTSIDE_BUT_LINK_LOCAL],
      },
    });
  }
  for (const service of ctx.services) {
    if (!service.ports.length || ctx.options.serviceType === 'ClusterIP') continue;
    const name = serviceName(ctx, service.name);
    const ports = [...new Map(service.ports.map((p) => [`${p.protocol}/${p.containerPort}`, { protocol: p.protocol === 'udp' ? 'UDP' : 'TCP', port: p.containerPort }])).values()];
    ports.sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(ctx, toDnsLabel(`${name}-published`), projectLabels(ctx.project.name)),
      spec: { podSelector: { matchLabels: selectorLabels(ctx.project.name, name) }, policyTypes: ['Ingress'], ingress: [{ ports }] },
    });
  }
  return out;
}

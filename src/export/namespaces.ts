// network_mode, pid, ipc and the dns keys. A pod has its own network, pid and IPC namespaces;
// sharing another service's means being containers of one pod, which separate workloads are
// not: `network_mode: service:X` and `network_mode: host` are refused, `pid`/`ipc: host` become
// hostPID/hostIPC (named), sharing with a service is named as lost. `network_mode: none` keeps
// the pod's network but a NetworkPolicy lets nothing in or out (see network-policies.ts).
import type { Service } from '../spec/index.js';
import type { ExportContext } from './context.js';
import type { Findings } from './warnings.js';

/** Refuses the network modes a pod cannot have. */
export function refuseNetworkMode(findings: Findings, s: Service): void {
  const mode = s.networkMode;
  if (mode?.kind === 'host') {
    findings.refuse(s.name, 'network_mode', "host: the service would use this machine's network; a pod would get a node's (hostNetwork), another machine's", 'remove network_mode: host and publish the ports it listens on');
  } else if (mode?.kind === 'service') {
    findings.refuse(s.name, 'network_mode', `service:${mode.service}: sharing a network namespace makes containers of one pod, which separate workloads are not`, `remove network_mode and reach ${mode.service} by its name`);
  }
}

/** True when the service has no network (`network_mode: none`). */
export function isolated(service: Service): boolean {
  return service.networkMode?.kind === 'none';
}

/** hostPID/hostIPC and dnsConfig on the pod spec; what has no pod equivalent is named. */
export function podNamespaces(ctx: ExportContext, service: Service, pod: Record<string, unknown>): void {
  const f = ctx.findings;
  if (service.pidMode?.kind === 'host') {
    pod.hostPID = true;
    f.warn(service.name, 'pid', "host: the pod sees a node's processes (hostPID); Pod Security 'baseline' and 'restricted' refuse it");
  } else if (service.pidMode?.kind === 'service') {
    f.warn(service.name, 'pid', `service:${service.pidMode.service} left out: only containers of one pod share processes`);
  }
  if (service.ipcMode?.kind === 'host') {
    pod.hostIPC = true;
    f.warn(service.name, 'ipc', "host: the pod uses a node's IPC namespace (hostIPC); Pod Security 'baseline' and 'restricted' refuse it");
  } else if (service.ipcMode?.kind === 'service') {
    f.warn(service.name, 'ipc', `service:${service.ipcMode.service} left out: only containers of one pod share IPC`);
  }
  if (isolated(service)) {
    f.warn(service.name, 'network_mode', 'none: the pod keeps a network interface, and a NetworkPolicy lets nothing in or out (where the network plugin enforces it)');
  }
  const dns: Record<string, unknown> = {};
  if (service.dns?.length) {
    f.warn(service.name, 'dns', `resolvers ${service.dns.join(', ')} left out: a pod's names outside the cluster go to the cluster DNS (nameservers would replace it, and Service names with it)`);
  }
  if (service.dnsSearch?.length) {
    const searches = service.dnsSearch.filter((d) => d !== '.');
    if (searches.length) dns.searches = searches;
    f.warn(service.name, 'dns_search', "search domains are added to the cluster's (namespace.svc.cluster.local, ...), not put in place of the host's");
  }
  if (service.dnsOpt?.length) {
    dns.options = service.dnsOpt.map((o) => {
      const i = o.indexOf(':');
      return i < 0 ? { name: o } : { name: o.slice(0, i), value: o.slice(i + 1) };
    });
  }
  if (Object.keys(dns).length) pod.dnsConfig = dns;
}

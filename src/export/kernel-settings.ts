// sysctls, group_add, ulimits, oom_score_adj and domainname. A pod sets sysctls and
// supplementary groups in its securityContext; limits, the OOM score and the NIS domain name
// have no pod field and are named.
import type { Service } from '../spec/index.js';
import type { ExportContext } from './context.js';

/** The sysctls a kubelet allows by default (Kubernetes 1.27); others need --allowed-unsafe-sysctls. */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
]);

/** The pod securityContext fields of these keys (empty when none apply). */
export function podSecurity(ctx: ExportContext, service: Service): Record<string, unknown> {
  const f = ctx.findings;
  const out: Record<string, unknown> = {};
  const sysctls = Object.keys(service.sysctls ?? {}).sort();
  if (sysctls.length) {
    out.sysctls = sysctls.map((name) => ({ name, value: service.sysctls![name]! }));
    const unsafe = sysctls.filter((s) => !SAFE_SYSCTLS.has(s));
    if (unsafe.length) f.warn(service.name, 'sysctls', `${unsafe.join(', ')}: not in the kubelet's safe set; the pod is refused on nodes whose kubelet does not allow them (--allowed-unsafe-sysctls)`);
  }
  const groups = service.groupAdd ?? [];
  const gids = groups.filter((g) => /^\d+$/.test(g)).map(Number);
  if (gids.length) out.supplementalGroups = gids;
  const names = groups.filter((g) => !/^\d+$/.test(g));
  if (names.length) f.warn(service.name, 'group_add', `${names.join(', ')}: group names have no Kubernetes equivalent (supplementalGroups takes gids): left out`);
  if (service.ulimits && Object.keys(service.ulimits).length) {
    f.warn(service.name, 'ulimits', `${Object.keys(service.ulimits).sort().join(', ')}: a pod cannot set resource limits (the node's container runtime sets them): left out`);
  }
  if (service.oomScoreAdj !== undefined) f.warn(service.name, 'oom_score_adj', 'a pod cannot set it (the kubelet derives it from the QoS class): left out');
  if (service.domainname !== undefined) f.warn(service.name, 'domainname', 'a pod cannot set its NIS domain name: left out');
  return out;
}

// The naming contract of docs/architecture.md ("Names and places"): every kernel object stack makes is
// named here, so observation, teardown, `stack gc` and the tests' leak check agree.
// Pure: no I/O. Interface names are at most 15 bytes, so links use a short hash.
import { createHash } from 'node:crypto';

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** Prefix of every network namespace stack creates (bind-mounted at /run/netns/<name>). */
export const NETNS_PREFIX = 'stk-';
/** Prefix of every link stack creates in the host namespace (bridges, host-side veths). */
export const LINK_PREFIX = 'stk';
/** Prefix of every nftables table stack creates. */
export const NFT_PREFIX = 'stack';
/** Directory under each cgroup hierarchy that holds all projects. */
export const CGROUP_DIR = 'stack';

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

/** Network namespace of one service: `stk-<project>-<service>`. */
export function netnsName(project: string, service: string): string {
  return `${NETNS_PREFIX}${project}-${service}`;
}

/** Bridge of one project network: `stkb<8 hex>` (12 bytes). */
export function bridgeName(project: string, network: string): string {
  return `${LINK_PREFIX}b${shortHash(project, network)}`;
}

/** Host side of the veth pair joining a service to a network: `stkv<8 hex>` (12 bytes). */
export function vethHostName(project: string, service: string, network: string): string {
  return `${LINK_PREFIX}v${shortHash(project, service, network)}`;
}

/** Name of the veth's peer inside the service's namespace: eth0, eth1, ... */
export function vethPeerName(index: number): string {
  return `eth${index}`;
}

/** nftables table of one project: `stack_<project>` (inet family). */
export function nftTableName(project: string): string {
  return `${NFT_PREFIX}_${project.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** cgroup path of a service relative to a hierarchy root: `stack/<project>/<service>`. */
export function cgroupPath(project: string, service?: string): string {
  return service === undefined ? `${CGROUP_DIR}/${project}` : `${CGROUP_DIR}/${project}/${service}`;
}

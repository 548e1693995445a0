// The naming contract of docs/architecture.md ("Names"): every kernel object stack makes is
// named here, so observation, teardown, `stack gc` and the tests' leak check agree.
// Pure: no I/O. Every name is injective: two different (project, service) pairs, or two
// different projects, never share a kernel object. Names stay readable where the kernel's
// limits allow, and end in a hash of the exact name where they do not. The names an object was
// made with are recorded in the state records; teardown reads them from there.
import { sha256Hex } from './sys/lazy-crypto.js';
import { parseReplicaKey } from './replica-key.js';

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

/** A project name as compose accepts it (compose-go's loader). */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** A service name as compose accepts it (compose-spec schema); `.` and `..` are refused too. */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

/** Longest project or service part of a netns name kept readable (the whole stays < 128 bytes). */
export const NETNS_PART_MAX = 48;
/** Longest project part of an nftables table name kept readable (the kernel allows 255 bytes). */
export const NFT_PART_MAX = 200;
/** Hex digits of the hash that ends a part too long (or not valid) to stay readable. */
const PART_HASH = 12;

function hexHash(bytes: number, ...parts: string[]): string {
  return sha256Hex(parts.join('\0')).slice(0, bytes);
}

function shortHash(...parts: string[]): string {
  return hexHash(8, ...parts);
}

/** True when `s` is a service name compose accepts and that can name a file or a cgroup. */
export function isValidServiceName(s: string): boolean {
  return SERVICE_NAME_PATTERN.test(s) && s !== '.' && s !== '..';
}

/**
 * `name` itself when it is `valid` and at most `max` bytes, else `<readable start><mark><hash>`:
 * `mark` never occurs in a readable part, so the two forms never meet, and the hash is of the
 * exact name, so two names share a hashed part only through a SHA-256 collision (48 bits).
 */
function part(name: string, valid: boolean, max: number, mark: string, keep: RegExp): string {
  if (valid && name.length <= max) return name;
  const start = name.replace(keep, '_').slice(0, max - PART_HASH - 1);
  return `${start}${mark}${hexHash(PART_HASH, name)}`;
}

/** The project in a netns name: never contains `.` (the separator). */
function netnsProjectPart(project: string): string {
  return part(project, PROJECT_NAME_PATTERN.test(project), NETNS_PART_MAX, '+', /[^a-z0-9_-]/g);
}

/** The service in a netns name; none for `''` (then the name is the project's prefix). */
function netnsServicePart(service: string): string {
  if (service === '') return '';
  return part(service, isValidServiceName(service) || parseReplicaKey(service) !== undefined, NETNS_PART_MAX, '+', /[^a-zA-Z0-9_-]/g);
}

export { REPLICA_MARK, parseReplicaKey, replicaKey } from './replica-key.js';

/**
 * Network namespace of one service: `stk-<project>.<service>`. A project name cannot hold `.`,
 * so the first `.` splits the name back into its pair: project `a` + service `b-web` is
 * `stk-a.b-web`, project `a-b` + service `web` is `stk-a-b.web`. A part longer than 48 bytes
 * (or not a valid name) becomes its first 35 bytes, `+` and 12 hex of its hash.
 */
export function netnsName(project: string, service: string): string {
  return `${netnsPrefix(project)}${netnsServicePart(service)}`;
}

/** What every netns of `project`, and of no other project, starts with: `stk-<project>.` (= netnsName(project, '')). */
export function netnsPrefix(project: string): string {
  return `${NETNS_PREFIX}${netnsProjectPart(project)}.`;
}

/** Bridge of one project network: `stkb<8 hex>` (12 bytes); its alias names the owner. */
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

/**
 * nftables table of one project (inet family): `stack_<project>`, the project name as written
 * (nft identifiers allow `-`, so `my-app` and `my_app` get tables of their own). A name longer
 * than 200 bytes (or not valid) becomes its first 187 bytes, `.` and 12 hex of its hash.
 */
export function nftTableName(project: string): string {
  return `${NFT_PREFIX}_${part(project, PROJECT_NAME_PATTERN.test(project), NFT_PART_MAX, '.', /[^a-z0-9_-]/g)}`;
}

/** Folder under each cgroup hierarchy root that holds every project's monitor group (`stack.monitors/<project>`). */
export const MONITOR_CGROUP_DIR = 'stack.monitors';

/** The one argument a service's launcher runs with: what ties a launcher still starting to its service. */
export function launcherMark(service: string): string {
  return `--service=${service}`;
}

/** cgroup path of a service relative to a hierarchy root: `stack/<project>/<service>`. */
export function cgroupPath(project: string, service?: string): string {
  segment('project', project);
  if (service === undefined) return `${CGROUP_DIR}/${project}`;
  return `${CGROUP_DIR}/${project}/${segment('service', service)}`;
}

/** `name` when it is one path segment; a bug in stack otherwise (names are validated on load). */
function segment(kind: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`${kind} name ${JSON.stringify(name)} cannot name a cgroup (a bug: names are validated on load)`);
  }
  return name;
}

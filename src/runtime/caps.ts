// Capabilities of a service: podman's default set, adjusted by cap_add / cap_drop with
// Docker's rules (names with or without CAP_, any case, and ALL), or every capability for a
// `privileged: true` service, as a mask for the launcher.
import { UserError } from '../errors.js';

/** Every capability the kernel knows (6.x), indexed by its number. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * podman's default set (containers.conf default_capabilities): what a service gets without
 * cap_add/cap_drop. Docker's adds MKNOD, NET_RAW and AUDIT_WRITE; ping still works without
 * NET_RAW because each service's netns opens net.ipv4.ping_group_range (ICMP datagram sockets).
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

/** `net_admin` → `CAP_NET_ADMIN`, `all` → `ALL`; a UserError for a name the kernel does not have. */
function normalize(service: string, key: 'cap_add' | 'cap_drop', name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) {
    throw new UserError(
      'CAP_UNKNOWN',
      `service "${service}": ${key} names an unknown capability: ${JSON.stringify(name)}`,
      'use a name from capabilities(7), e.g. NET_ADMIN or CAP_SYS_PTRACE, or ALL',
    );
  }
  return full;
}

/**
 * The service's capabilities (sorted by number), Docker's TweakCapabilities rules:
 * privileged → every capability (cap_add/cap_drop still checked, as Docker ignores them then);
 * cap_add ALL → every capability but those dropped; cap_drop ALL → only those added;
 * else the defaults minus the dropped plus the added.
 */
export function serviceCapabilities(service: {
  readonly name: string;
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly privileged?: boolean;
}): string[] {
  const add = service.capAdd.map((c) => normalize(service.name, 'cap_add', c));
  const drop = service.capDrop.map((c) => normalize(service.name, 'cap_drop', c));
  let caps: string[];
  if (service.privileged === true) caps = [...ALL_CAPABILITIES];
  else if (add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return ALL_CAPABILITIES.filter((c) => caps.includes(c));
}

/** The capabilities as the 64-bit mask capset(2) and /proc/PID/status (CapEff) use. */
export function capabilityMask(caps: readonly string[]): bigint {
  let mask = 0n;
  for (const cap of caps) {
    const bit = ALL_CAPABILITIES.indexOf(cap);
    if (bit < 0) throw new Error(`not a capability: ${cap}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

// Which device nodes a service may open or create: the device cgroup's rules. By default
// Docker's allow-list (runc's AllowedDevices): mknod of any node, and read/write only of
// null, zero, full, random, urandom, tty, the ptys, ptmx and tun. `devices:` adds one rule per
// mapped node; `privileged: true` allows every device. Pure: the rules, their v1 interface
// writes (devices.deny / devices.allow) and the rule matching the v2 eBPF program implements.
import type { DeviceMapping } from '../../spec/project.js';

/** One allow rule: device type (`a` = both), major and minor (`*` = any) and access (some of r, w, m). */
export interface DeviceRule {
  readonly type: 'a' | 'b' | 'c';
  readonly major: number | '*';
  readonly minor: number | '*';
  readonly access: string;
}

/** A node the service may use, resolved from the host (`devices:`): its rule and where it goes. */
export interface ResolvedDevice extends DeviceMapping {
  readonly type: 'b' | 'c';
  readonly major: number;
  readonly minor: number;
}

const c = (major: number | '*', minor: number | '*', access = 'rwm'): DeviceRule => ({ type: 'c', major, minor, access });

/** Docker's default rules (runc specconv AllowedDevices), in its order. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  c('*', '*', 'm'),
  { type: 'b', major: '*', minor: '*', access: 'm' },
  c(1, 3), // null
  c(1, 8), // random
  c(1, 7), // full
  c(5, 0), // tty
  c(1, 5), // zero
  c(1, 9), // urandom
  c(136, '*'), // /dev/pts/*
  c(5, 2), // ptmx
  c(10, 200), // /dev/net/tun
];

/** Every device, every access: a privileged service. */
export const ALL_DEVICES: readonly DeviceRule[] = [{ type: 'a', major: '*', minor: '*', access: 'rwm' }];

/** The rules of a service: everything when privileged, else the defaults plus one per mapped device. */
export function serviceDeviceRules(service: { readonly privileged: boolean }, devices: readonly ResolvedDevice[]): readonly DeviceRule[] {
  if (service.privileged) return ALL_DEVICES;
  return [...DEFAULT_DEVICE_RULES, ...devices.map((d) => ({ type: d.type, major: d.major, minor: d.minor, access: d.permissions }))];
}

/** A rule as the v1 devices.allow line: `c 1:3 rwm`, `a` for everything. */
export function deviceRuleLine(rule: DeviceRule): string {
  if (rule.type === 'a' && rule.major === '*' && rule.minor === '*' && isFullAccess(rule.access)) return 'a';
  return `${rule.type} ${rule.major}:${rule.minor} ${rule.access}`;
}

function isFullAccess(access: string): boolean {
  return ['r', 'w', 'm'].every((a) => access.includes(a));
}

/** The v1 writes, in order: deny everything, then allow each rule (`a` alone allows all). */
export function v1DeviceWrites(rules: readonly DeviceRule[]): { file: 'devices.deny' | 'devices.allow'; value: string }[] {
  return [{ file: 'devices.deny', value: 'a' }, ...rules.map((r) => ({ file: 'devices.allow' as const, value: deviceRuleLine(r) }))];
}

/** What a device access asks for: the node's type and numbers and one or more of r, w, m. */
export interface DeviceAccess {
  readonly type: 'b' | 'c';
  readonly major: number;
  readonly minor: number;
  readonly access: string;
}

/** Whether the rules allow an access (a rule matches when it covers every letter asked): what the kernel and the eBPF program decide. */
export function deviceAllowed(rules: readonly DeviceRule[], want: DeviceAccess): boolean {
  return rules.some(
    (r) =>
      (r.type === 'a' || r.type === want.type) &&
      (r.major === '*' || r.major === want.major) &&
      (r.minor === '*' || r.minor === want.minor) &&
      [...want.access].every((a) => r.access.includes(a)),
  );
}

// `devices:` entries → DeviceMapping: the short syntax "HOST[:CONTAINER[:PERMISSIONS]]" read as
// Docker's CLI reads it (a second field made of r, w and m is the permissions), and the long
// {source, target, permissions}. Paths are absolute; the target lies under /dev, where the
// service's view makes device nodes.
import { isAbsolute, normalize } from 'node:path';
import type { DeviceMapping } from './project.js';

/** How a device is written, for messages. */
export const DEVICE_SYNTAX = '"HOST[:CONTAINER[:PERMISSIONS]]", e.g. "/dev/fuse" or "/dev/sdb:/dev/xvdb:r"';

/** The long syntax as the schema gives it. */
export interface LongDevice {
  readonly source: string;
  readonly target?: string;
  readonly permissions?: string;
}

/** Whether `text` is a device cgroup access string: some of r, w and m, each at most once. */
export function isDevicePermissions(text: string): boolean {
  return /^[rwm]{1,3}$/.test(text) && new Set(text).size === text.length;
}

/** The mapping, or why it cannot be read. */
export function parseDevice(spec: string | LongDevice): { ok: true; device: DeviceMapping } | { ok: false; reason: string } {
  let source: string;
  let target = '';
  let permissions = 'rwm';
  if (typeof spec === 'string') {
    if (spec.includes('=')) return { ok: false, reason: `"${spec}" is a CDI device name; stack has no CDI: name the device node, e.g. /dev/fuse` };
    const parts = spec.split(':');
    if (parts.length > 3) return { ok: false, reason: `"${spec}" has more than three fields` };
    source = parts[0] ?? '';
    if (parts.length === 3) permissions = parts[2] ?? '';
    if (parts.length >= 2) {
      if (isDevicePermissions(parts[1] ?? '')) permissions = parts[1] ?? '';
      else target = parts[1] ?? '';
    }
  } else {
    source = spec.source;
    target = spec.target ?? '';
    permissions = spec.permissions ?? 'rwm';
  }
  if (target === '') target = source;
  if (!isAbsolute(source)) return { ok: false, reason: `the host device "${source}" is not an absolute path` };
  if (!isAbsolute(target)) return { ok: false, reason: `the service path "${target}" is not an absolute path` };
  const inside = normalize(target);
  if (!inside.startsWith('/dev/') || inside.split('/').includes('..') || inside.startsWith('/dev/pts/') || inside.startsWith('/dev/shm/') || inside.startsWith('/dev/mqueue/')) {
    return { ok: false, reason: `the service path "${target}" is not a name under /dev (where the service's device nodes live)` };
  }
  if (!isDevicePermissions(permissions)) return { ok: false, reason: `"${permissions}" is not some of r, w and m` };
  return { ok: true, device: { source: normalize(source), target: inside, permissions } };
}

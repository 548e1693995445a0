// A service's device nodes, read from the host: each `devices:` entry becomes the node(s) its
// source names (a directory gives every node below it, as Docker's), with their type and
// numbers; `privileged: true` gives every node of the host's /dev (Docker's hostDevices). The
// launcher binds each into the service's /dev; the cgroup rules come from the same list.
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import type { DeviceMapping, Service } from '../spec/project.js';
import { ALL_DEVICES, serviceDeviceRules, type DeviceRule, type ResolvedDevice } from './cgroup/devices.js';

/** Folders of the host's /dev a privileged service does not get (its own pts, shm, mqueue). */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
/** Nodes the view makes itself (bound from the host, or its own devpts ptmx). */
const VIEW_NODES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx', '/dev/console']);

/** Major and minor of a dev_t as glibc packs it (gnu_dev_major / gnu_dev_minor). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = ((dev & 0xfff00n) >> 8n) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

function node(st: Stats, source: string, target: string, permissions: string): ResolvedDevice | undefined {
  const type = st.isBlockDevice() ? 'b' : st.isCharacterDevice() ? 'c' : undefined;
  if (type === undefined) return undefined;
  return { source, target, permissions, type, ...deviceNumbers(st.rdev) };
}

/** The nodes one `devices:` entry names; a UserError for a path that is no device. */
export function resolveDevice(service: string, mapping: DeviceMapping): ResolvedDevice[] {
  let real: string;
  let st: Stats;
  try {
    real = realpathSync(mapping.source);
    st = statSync(real);
  } catch (e) {
    throw new UserError('DEVICE_MISSING', `service "${service}": devices: ${mapping.source}: ${(e as NodeJS.ErrnoException).code ?? 'cannot be read'}`, 'name a device node of this host, e.g. /dev/fuse', { cause: e });
  }
  if (st.isDirectory()) {
    const out: ResolvedDevice[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else {
          const found = node(lstatSync(path), path, join(mapping.target, relative(real, path)), mapping.permissions);
          if (found) out.push(found);
        }
      }
    };
    walk(real);
    return out;
  }
  const found = node(st, real, mapping.target, mapping.permissions);
  if (!found) {
    throw new UserError('DEVICE_NOT_A_DEVICE', `service "${service}": devices: ${mapping.source} is not a device node`, 'name a character or block device such as /dev/fuse or /dev/sdb');
  }
  return [found];
}

/** Every device node of the host's /dev but those the view makes itself: what a privileged service gets. */
export function hostDevices(root = '/dev'): ResolvedDevice[] {
  const out: ResolvedDevice[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a folder that went away while listing
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(dir === root && SKIPPED_DIRS.has(entry.name))) walk(path);
      } else if ((entry.isBlockDevice() || entry.isCharacterDevice()) && !VIEW_NODES.has(path)) {
        try {
          const found = node(lstatSync(path), path, path, 'rwm');
          if (found) out.push(found);
        } catch {
          // removed meanwhile (udev): nothing to give
        }
      }
    }
  };
  walk(root);
  return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/** The nodes the service's /dev gets besides the view's own: every host device when privileged, else its `devices:`. */
export function serviceDevices(service: Pick<Service, 'name' | 'privileged' | 'devices'>): ResolvedDevice[] {
  if (service.privileged) return hostDevices();
  return service.devices.flatMap((d) => resolveDevice(service.name, d));
}

/** The device cgroup rules of the service (cgroup/devices.ts): Docker's defaults plus its devices, or all. */
export function deviceRulesFor(service: Pick<Service, 'name' | 'privileged' | 'devices'>): readonly DeviceRule[] {
  if (service.privileged) return ALL_DEVICES;
  return serviceDeviceRules(service, serviceDevices(service));
}

// A network's `driver_opts` (Docker's bridge driver options): the MTU of the bridge and its
// veths; `host_binding_ipv4` only as stack publishes anyway (127.0.0.1); each other option
// refused by name. Below, a named volume's `driver_opts`, as the local driver of Docker reads them: `type`, `o` and
// `device`, the three arguments of mount(8) (`mount -t TYPE -o O DEVICE <the volume's folder>`).
// stack mounts two of its kinds: a tmpfs of the volume's own (`type: tmpfs`), and a host folder
// bound on it (`type: none`, `o: bind`; the folder relative to the project folder, as compose-go
// resolves it). Any other type (nfs, cifs, ext4 on a device) is refused by name with the way
// around it: mount it on the host and bind that folder. Checked here with each key's place; what
// only the kernel can judge (a tmpfs size it refuses, a folder that is gone) is said by `up`.
import type { Network, Volume, VolumeMount } from './project.js';
import type { Report } from './report.js';
import { hostPath } from './mounts.js';

/** The options of a bind: bind or rbind, then flags applied by a remount. */
const BIND_OPTIONS = new Set(['bind', 'rbind', 'ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'noatime', 'atime', 'nodiratime', 'diratime', 'relatime', 'strictatime', 'nosymfollow', 'symfollow']);
/** The local driver's options; anything else is another driver's. */
const KEYS = new Set(['type', 'o', 'device']);

/** What `driver_opts` of volume `key` make of it (nothing when it has none); errors go to `report`. */
export function volumeDriverOpts(
  key: string,
  opts: Readonly<Record<string, string | number>> | undefined,
  external: boolean,
  ctx: { report: Report; workingDir: string; env: Readonly<Record<string, string>> },
): Pick<Volume, 'driverOpts' | 'mount'> {
  if (opts === undefined || typeof opts !== 'object' || Array.isArray(opts)) return {}; // not a mapping: validation said so
  const at = (...p: string[]) => ['volumes', key, 'driver_opts', ...p];
  const { report } = ctx;
  const written = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, String(v)]));
  if (Object.keys(written).length === 0) return {};
  if (external) {
    report.error(['volumes', key, 'driver_opts'], 'CONFLICT', 'an external volume is made outside this project: its `driver_opts` are not this project\'s to give', {
      hint: 'remove driver_opts, or external (the project then makes the volume)',
    });
    return { driverOpts: written };
  }
  let failed = false;
  for (const k of Object.keys(written)) {
    if (KEYS.has(k)) continue;
    failed = true;
    report.error(at(k), 'UNSUPPORTED', `\`${k}\` is no option of the local volume driver`, { expected: 'type, o and device (as mount -t TYPE -o O DEVICE)' });
  }
  const type = written.type;
  const options = (written.o ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  const bind = options.includes('bind') || options.includes('rbind');
  if (bind) {
    if (type !== undefined && type !== 'none') {
      report.error(at('type'), 'CONFLICT', `\`o: ${written.o}\` binds a folder: \`type\` must be none`, { expected: 'none', hint: 'type: none, o: bind, device: /a/host/folder' });
      failed = true;
    }
    for (const o of options) {
      if (BIND_OPTIONS.has(o)) continue;
      report.error(at('o'), 'BAD_VALUE', `\`${o}\` is no option of a bind`, { found: o, expected: `bind or rbind, with ${[...BIND_OPTIONS].filter((b) => !b.includes('bind')).join(', ')}` });
      failed = true;
    }
    const device = written.device;
    if (device === undefined || device === '') {
      report.error(at(), 'MISSING_KEY', 'a bind volume needs the folder it binds: `device`', { expected: 'device: a host folder (absolute, or relative to the project folder)' });
      return { driverOpts: written };
    }
    return failed ? { driverOpts: written } : { driverOpts: written, mount: { kind: 'bind', device: hostPath(device, ctx), options } };
  }
  if (type === undefined) {
    report.error(at(), 'MISSING_KEY', '`driver_opts` need a `type` (or `o: bind`)', {
      expected: 'type: tmpfs, or type: none with o: bind and a device folder',
    });
    return { driverOpts: written };
  }
  if (type === 'none') {
    report.error(at('o'), 'MISSING_KEY', '`type: none` binds a host folder: `o` must say bind (or rbind), and `device` name the folder', {
      expected: 'o: bind',
      hint: 'type: none, o: bind, device: ./data',
    });
    return { driverOpts: written };
  }
  if (type !== 'tmpfs') {
    report.error(at('type'), 'UNSUPPORTED', `stack mounts tmpfs and bind volumes, not \`${type}\``, {
      found: type,
      expected: 'tmpfs, or none with o: bind',
      hint: `mount the ${type} file system on the host (fstab, mount -t ${type}), then bind it: type: none, o: bind, device: /that/folder`,
    });
    return { driverOpts: written };
  }
  const mount: VolumeMount = { kind: 'tmpfs', device: written.device ?? 'tmpfs', options };
  return failed ? { driverOpts: written } : { driverOpts: written, mount };
}

/** The bridge options stack has no equivalent for, and what to do instead. */
const NETWORK_REFUSED: Readonly<Record<string, string>> = {
  'com.docker.network.bridge.name': 'stack names its bridges stkb<hash> (docs: names and places); compose shows the network by its name',
  'com.docker.network.bridge.enable_icc': 'services on one network always reach each other; put those that must not on different networks',
  'com.docker.network.bridge.enable_ip_masquerade': 'internal: true cuts the network off the outside',
};

/** What `driver_opts` of network `key` make of it; errors go to `report`. */
export function networkDriverOpts(key: string, opts: Readonly<Record<string, string | number>> | undefined, external: boolean, report: Report | undefined): Pick<Network, 'driverOpts' | 'mtu'> {
  if (opts === undefined || typeof opts !== 'object' || Array.isArray(opts) || report === undefined) return {};
  const written = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, String(v)]));
  if (Object.keys(written).length === 0) return {};
  const at = (...p: string[]) => ['networks', key, 'driver_opts', ...p];
  if (external) {
    report.error(at(), 'CONFLICT', "an external network is made outside this project: its `driver_opts` are not this project's to give", { hint: 'remove driver_opts, or external' });
    return { driverOpts: written };
  }
  let mtu: number | undefined;
  for (const [option, value] of Object.entries(written)) {
    if (option === 'com.docker.network.driver.mtu') {
      const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isInteger(n) && n >= 68 && n <= 65535) mtu = n;
      else report.error(at(option), 'BAD_VALUE', 'an MTU is a whole number of bytes from 68 to 65535', { found: value, expected: 'e.g. 1400' });
    } else if (option === 'com.docker.network.bridge.host_binding_ipv4') {
      if (value !== '127.0.0.1') {
        report.error(at(option), 'UNSUPPORTED', `stack publishes ports on 127.0.0.1 unless a port names its address; a network-wide ${value} is not supported`, {
          found: value,
          expected: '127.0.0.1 (what stack does anyway)',
          hint: `name the address in each port: ports: ["${value}:8080:80"]`,
        });
      }
    } else {
      report.error(at(option), 'UNSUPPORTED', `\`${option}\` is no bridge option stack has`, {
        expected: 'com.docker.network.driver.mtu, or com.docker.network.bridge.host_binding_ipv4: 127.0.0.1',
        ...(NETWORK_REFUSED[option] !== undefined && { hint: NETWORK_REFUSED[option] }),
      });
    }
  }
  return { driverOpts: written, ...(mtu !== undefined && { mtu }) };
}

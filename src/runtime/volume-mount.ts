// The local driver's mount of a named volume (`driver_opts`, spec/volume-driver.ts), on the
// volume's folder in the host's mount namespace: a tmpfs of its own, or a host folder bound on it.
// Made before the services that use the volume start (their views bind the folder, and with it
// what is mounted there), and taken off by `down`: a tmpfs's files go with it, a bound folder's
// stay where they are. The removal of a volume (`down -v`) unmounts first and never walks into a
// folder that is still a mount point: a bind's files are the host's, not the volume's.
import { statSync } from 'node:fs';
import { KernelError, UserError } from '../errors.js';
import type { VolumeMount } from '../spec/project.js';
import { MNT_DETACH, MS_BIND, MS_REC, mount, umount2 } from '../sys/libc.js';
import { mountsAt } from '../sys/mountinfo.js';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;
const MS_LAZYTIME = 0x2000000;

/** mount(8)'s flag words: the flag each sets, or clears (its opposite). */
const FLAGS: Readonly<Record<string, { set?: number; clear?: number }>> = {
  ro: { set: MS_RDONLY },
  rw: { clear: MS_RDONLY },
  nosuid: { set: MS_NOSUID },
  suid: { clear: MS_NOSUID },
  nodev: { set: MS_NODEV },
  dev: { clear: MS_NODEV },
  noexec: { set: MS_NOEXEC },
  exec: { clear: MS_NOEXEC },
  sync: { set: MS_SYNCHRONOUS },
  async: { clear: MS_SYNCHRONOUS },
  dirsync: { set: MS_DIRSYNC },
  noatime: { set: MS_NOATIME },
  atime: { clear: MS_NOATIME },
  nodiratime: { set: MS_NODIRATIME },
  diratime: { clear: MS_NODIRATIME },
  relatime: { set: MS_RELATIME },
  strictatime: { set: MS_STRICTATIME },
  lazytime: { set: MS_LAZYTIME },
  nolazytime: { clear: MS_LAZYTIME },
};

/** `o` as mount(8) reads it: the flag words as mount flags, the rest as the file system's own options (in order). */
export function mountFlags(options: readonly string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const option of options) {
    const flag = FLAGS[option];
    if (flag === undefined) {
      if (option !== 'bind' && option !== 'rbind') data.push(option);
      continue;
    }
    flags = (flags | (flag.set ?? 0)) & ~(flag.clear ?? 0);
  }
  return { flags, data };
}

/** Mounts `m` on the volume folder `path` (which exists); `volume` names it in errors. */
export function mountVolume(volume: string, path: string, m: VolumeMount): void {
  const { flags, data } = mountFlags(m.options);
  if (m.kind === 'bind') {
    const device = statSync(m.device, { throwIfNoEntry: false });
    if (device === undefined || !device.isDirectory()) {
      throw new UserError(
        'VOLUME_DEVICE',
        `volume ${volume}: ${m.device} (driver_opts.device) is ${device === undefined ? 'not there' : 'not a folder'}`,
        'a bind volume binds an existing host folder: make it first (mkdir -p), or name another in device',
      );
    }
    mount(m.device, path, null, MS_BIND | (m.options.includes('rbind') ? MS_REC : 0));
    // A bind takes its flags from a remount of itself (the kernel ignores them on the bind).
    if (flags !== 0) {
      try {
        mount(null, path, null, MS_BIND | MS_REMOUNT | flags);
      } catch (e) {
        umount2(path, MNT_DETACH);
        throw e;
      }
    }
    return;
  }
  try {
    mount(m.device, path, 'tmpfs', flags, data.join(','));
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'EINVAL') {
      throw new UserError('VOLUME_OPTIONS', `volume ${volume}: the kernel refused the tmpfs options "${m.options.join(',')}" (driver_opts.o)`, 'tmpfs takes size=, nr_inodes=, mode=, uid=, gid= and mount flags such as noexec (see tmpfs(5))', { cause: e });
    }
    throw e;
  }
}

/**
 * Takes every mount off the volume folder `path` (none is fine): a plain unmount, else a lazy
 * one when something still holds it (a process of another project that binds it). Throws when
 * a mount stays: the caller must not remove the folder then.
 */
export function unmountVolume(volume: string, path: string): void {
  for (let tries = 0; mountsAt(path) > 0 && tries < 16; tries++) {
    try {
      umount2(path, 0);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      if (e.errno === 'EBUSY') umount2(path, MNT_DETACH);
      else if (e.errno !== 'EINVAL') throw e; // EINVAL: not a mount point (gone meanwhile)
    }
  }
  if (mountsAt(path) > 0) throw new Error(`volume ${volume}: ${path} is still a mount point after unmounting it`);
}

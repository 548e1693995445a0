// The local driver's mount of a named volume (`driver_opts`, spec/driver-opts.ts), on the
// volume's folder in the host's mount namespace: a tmpfs of its own, or a host folder bound on it.
// Made before the services that use the volume start (their views bind the folder, and with it
// what is mounted there), and taken off by `down`: a tmpfs's files go with it, a bound folder's
// stay where they are. The removal of a volume (`down -v`) unmounts first and never walks into a
// folder that is still a mount point: a bind's files are the host's, not the volume's.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { KernelError, UserError } from '../errors.js';
import type { VolumeMount } from '../spec/project.js';
import { MNT_DETACH, MS_BIND, MS_REC, mount, umount2 } from '../sys/libc.js';
import { mountOptionsAt, mountsAt, mountsBelow } from '../sys/mountinfo.js';

/** open(2)'s O_PATH (x86-64/arm64 Linux; Node has no constant). */
const O_PATH = 0o10000000;

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_DIRSYNC = 0x80;
const MS_NOSYMFOLLOW = 0x100;
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
  nosymfollow: { set: MS_NOSYMFOLLOW },
  symfollow: { clear: MS_NOSYMFOLLOW },
  nolazytime: { clear: MS_LAZYTIME },
};

/** Words of `o` that only mount(8) or fstab read (Docker's local driver drops them too). */
const USERSPACE = /^(defaults|auto|noauto|nofail|_netdev|user|nouser|users|owner|group|x-.*|comment=.*)$/;

/** `o` as mount(8) reads it: the flag words as flags to set and to clear, the rest as the file system's own options (in order). */
export function mountFlags(options: readonly string[]): { set: number; clear: number; data: string[] } {
  let set = 0;
  let clear = 0;
  const data: string[] = [];
  for (const option of options) {
    const flag = FLAGS[option];
    if (flag === undefined) {
      if (option !== 'bind' && option !== 'rbind' && !USERSPACE.test(option)) data.push(option);
      continue;
    }
    set = (set | (flag.set ?? 0)) & ~(flag.clear ?? 0);
    clear = (clear | (flag.clear ?? 0)) & ~(flag.set ?? 0);
  }
  return { set, clear, data };
}

/** The mount flags a mount's per-mount options (mountinfo's `rw,nosuid,relatime`) stand for. */
function flagsOf(options: readonly string[]): number {
  return options.reduce((flags, o) => flags | (FLAGS[o]?.set ?? 0), 0);
}

/** The O_PATH descriptor of a bind's folder, walked from `beneath` one name at a time without following a link (none: opened as the host has it). */
function openDevice(volume: string, device: string, beneath: string | undefined): number {
  const refuse = (what: string): never => {
    throw new UserError('VOLUME_DEVICE', `volume ${volume}: ${device} (driver_opts.device) ${what}`, 'a bind volume binds an existing host folder: make it first (mkdir -p), or name another in device');
  };
  const folder = (fd: number): number => {
    const st = fstatSync(fd);
    if (st.isSymbolicLink()) {
      closeSync(fd);
      refuse(`crosses a symlink below ${beneath}: a service could have put it there, so it is not followed`);
    }
    if (!st.isDirectory()) {
      closeSync(fd);
      refuse('is not a folder');
    }
    return fd;
  };
  const open = (path: string, flags: number): number => {
    try {
      return openSync(path, flags);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') refuse('is not there');
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') refuse('is not a folder');
      throw e;
    }
  };
  if (beneath === undefined) return folder(open(device, O_PATH));
  let dir = open(beneath, O_PATH | constants.O_DIRECTORY);
  for (const part of relative(beneath, device).split(sep)) {
    let next: number;
    try {
      next = folder(open(`/proc/self/fd/${dir}/${part}`, O_PATH | constants.O_NOFOLLOW));
    } finally {
      closeSync(dir);
    }
    dir = next;
  }
  return dir;
}

/**
 * Mounts `m` on the volume folder `path` (which exists); `volume` names it in errors. A bind's
 * folder is walked from `beneath` (the project folder, or a folder a service binds writable,
 * that holds it: runtime/mounts.ts bindBeneath) without following a link, and bound through
 * the descriptor the walk ends with. A tmpfs without uid= or gid= belongs to `owner`, as a
 * plain volume's folder does.
 */
export function mountVolume(volume: string, path: string, m: VolumeMount, beneath: string | undefined, owner: { uid: number; gid: number }): void {
  const { set, clear, data } = mountFlags(m.options);
  if (m.kind === 'bind') {
    const fd = openDevice(volume, m.device, beneath);
    try {
      mount(`/proc/self/fd/${fd}`, path, null, MS_BIND | (m.options.includes('rbind') ? MS_REC : 0));
    } finally {
      closeSync(fd);
    }
    // A bind takes its flags from a remount of itself, which replaces them all: the source's
    // (a noexec, nosuid file system) are kept, the options' added or taken away; with rbind,
    // each mount it brought along gets them too (a remount changes one mount).
    if (set !== 0 || clear !== 0) {
      try {
        const points = m.options.includes('rbind') ? [path, ...mountsBelow(path)] : [path];
        for (const point of points) {
          const current = mountOptionsAt(point);
          if (current === undefined) throw new Error(`volume ${volume}: the mount on ${point} is not in /proc/self/mountinfo after the bind`);
          mount(null, point, null, MS_BIND | MS_REMOUNT | ((flagsOf(current) & ~clear) | set));
        }
      } catch (e) {
        umount2(path, MNT_DETACH);
        throw e;
      }
    }
    return;
  }
  const given = (key: string) => data.some((o) => o.startsWith(`${key}=`));
  const ownership = [...(given('uid') ? [] : [`uid=${owner.uid}`]), ...(given('gid') ? [] : [`gid=${owner.gid}`])];
  try {
    mount(m.device, path, 'tmpfs', set, [...data, ...ownership].join(','));
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
  if (mountsAt(path) > 0) {
    throw new UserError('VOLUME_MOUNTED', `volume ${volume}: ${path} is still a mount point after unmounting it`, `see what holds it (grep ' ${path} ' /proc/self/mountinfo), unmount it, and run the command again`);
  }
}

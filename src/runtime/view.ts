// The service's own filesystem view as the launcher builds it (native/launcher/view.h): what
// the caller gives (its /etc name files, its volumes with host paths already resolved), the
// checks made here before anything runs, and the launch request keys that carry it.
import { posix } from 'node:path';
import { UserError } from '../errors.js';
import type { Service } from '../spec/project.js';

/**
 * A volume as the launcher mounts it: a host folder or file bound in (bind, named and anonymous
 * volumes), or a tmpfs. `beneath`: a folder the source lies in (the project folder, a folder
 * another bind mounts writable, the volumes root) below which no symlink is followed, so a
 * service that swapped a folder for a link cannot bind what it points at.
 */
export type ViewMount =
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean; readonly beneath?: string }
  | { readonly type: 'tmpfs'; readonly target: string; readonly readOnly: boolean; readonly sizeBytes?: number; readonly mode?: number };

/** What the launcher needs to build the view; `read_only:` comes from the service itself. */
export interface ServiceView {
  /** Host files bound over the view's /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  readonly etcFiles?: { readonly hosts?: string; readonly hostname?: string; readonly resolvConf?: string };
  /** Mounted in this order, after the view's own folders (a volume at /tmp/x lands in its private /tmp). */
  readonly mounts: readonly ViewMount[];
  /** Paths hidden in the view (hidden.ts): an empty read-only tmpfs over a folder, /dev/null over a file. */
  readonly hide?: readonly string[];
  /**
   * An image service's root (native/launcher/image.h) instead of the host's folders: the
   * unpacked layer folders (absolute, lowest first) under overlayfs, with the service's own
   * writable upper and work folders (same filesystem), or none: a read-only root.
   */
  readonly image?: { readonly layers: readonly string[]; readonly upper?: { readonly upper: string; readonly work: string } };
}

/** First components the view builds itself while it is made (the host's old root, overlay layers): never a target. */
export const STAGING_PREFIX = '.stack-';

/** Size of a tmpfs volume the spec gives none (1 GiB, as the view's own /tmp): never the kernel's half of RAM. */
export const DEFAULT_TMPFS_SIZE_BYTES = 1024 * 1024 * 1024;

/** Folders of the kernel, never a volume target. */
const KERNEL_FOLDERS = ['/proc', '/sys'];

function targetError(service: Service, target: string, why: string, hint: string): UserError {
  return new UserError('MOUNT_TARGET', `service "${service.name}": volume target ${JSON.stringify(target)} ${why}`, hint);
}

/**
 * Refuses, before anything is started, targets the launcher would refuse anyway: relative
 * ones, `.`/`..` in them, / itself, /proc and /sys, the view's staging folders (`/.stack-*`),
 * and two volumes on one target. Symlinks
 * are checked by the launcher inside the view, where they are resolved.
 */
export function checkTargets(service: Service, mounts: readonly ViewMount[]): void {
  const seen = new Set<string>();
  for (const { target } of mounts) {
    if (!target.startsWith('/')) {
      throw targetError(service, target, 'is not an absolute path', 'a target is a path inside the service, such as /app or /data');
    }
    const parts = target.split('/').filter((p) => p !== '');
    if (parts.some((p) => p === '.' || p === '..')) {
      throw targetError(service, target, 'contains `.` or `..`', `write it without them${parts.includes('..') ? '' : `: ${posix.normalize(target)}`}`);
    }
    const normal = `/${parts.join('/')}`;
    if (normal === '/') throw targetError(service, target, 'is the root', 'mount the volume on a folder, such as /app');
    if (parts[0]!.startsWith(STAGING_PREFIX)) {
      throw targetError(service, target, `is in /${parts[0]}: folders whose name starts with \`${STAGING_PREFIX}\` are where stack builds the view`, 'choose another target, such as /data');
    }
    const kernel = KERNEL_FOLDERS.find((k) => normal === k || normal.startsWith(`${k}/`));
    if (kernel !== undefined) {
      throw targetError(service, target, `is in ${kernel}, which belongs to the kernel`, 'choose a target outside /proc and /sys');
    }
    if (seen.has(normal)) throw targetError(service, target, 'is the target of two volumes', 'keep one of them');
    seen.add(normal);
  }
}

/** The launch request keys of the view (native/launcher/config.h). */
export function viewRequestPairs(service: Service, view: ServiceView): [string, string][] {
  const pairs: [string, string][] = [['view', '1']];
  if (service.readOnly) pairs.push(['read_only', '1']);
  const etc = view.etcFiles ?? {};
  if (etc.hosts !== undefined) pairs.push(['etc_hosts', etc.hosts]);
  if (etc.hostname !== undefined) pairs.push(['etc_hostname', etc.hostname]);
  if (etc.resolvConf !== undefined) pairs.push(['etc_resolv_conf', etc.resolvConf]);
  if (service.shmSizeBytes !== undefined) pairs.push(['shm_size', String(service.shmSizeBytes)]);
  for (const path of view.hide ?? []) pairs.push(['hide', path]);
  for (const layer of view.image?.layers ?? []) pairs.push(['image_layer', layer]);
  if (view.image?.upper !== undefined) pairs.push(['image_upper', view.image.upper.upper], ['image_work', view.image.upper.work]);
  for (const m of view.mounts) {
    pairs.push(['mount', m.type]);
    if (m.type === 'bind') pairs.push(['mount_source', m.source]);
    if (m.type === 'bind' && m.beneath !== undefined) pairs.push(['mount_beneath', m.beneath]);
    pairs.push(['mount_target', m.target]);
    if (m.readOnly) pairs.push(['mount_read_only', '1']);
    if (m.type === 'tmpfs') pairs.push(['mount_size', String(m.sizeBytes ?? DEFAULT_TMPFS_SIZE_BYTES)]);
    if (m.type === 'tmpfs' && m.mode !== undefined) pairs.push(['mount_mode', m.mode.toString(8)]);
  }
  return pairs;
}

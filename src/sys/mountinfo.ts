// /proc/self/mountinfo: where this process's mount namespace has mounts.
import { readFileSync, realpathSync } from 'node:fs';

/** Undoes mountinfo's octal escapes (`\040` is a space). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One mount of a mountinfo line: its id, mount point, per-mount options, file system type and source. */
interface MountEntry {
  readonly id: number;
  readonly point: string;
  readonly options: string[];
  readonly fstype: string;
  readonly source: string;
}

/** The mounts on `path` (its real path) and, with `below`, under it, in mount order (the later of two on one point is on top); none when `path` is not there. */
function mountsOf(path: string, below: boolean, mountinfo?: string): { real: string; entries: MountEntry[] } {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return { real: path, entries: [] };
  }
  const entries: MountEntry[] = [];
  for (const line of (mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === undefined) continue;
    const point = unescapeMountField(fields[4]);
    if (point !== real && !(below && point.startsWith(`${real}/`))) continue;
    const dash = fields.indexOf('-');
    entries.push({ id: Number(fields[0]), point, options: (fields[5] ?? '').split(','), fstype: fields[dash + 1] ?? '', source: unescapeMountField(fields[dash + 2] ?? '') });
  }
  return { real, entries };
}

/** How many mounts are stacked on `path` (its real path; 0 when it is not there) in this process's mount namespace. */
export function mountsAt(path: string, mountinfo?: string): number {
  return mountsOf(path, false, mountinfo).entries.length;
}

/** The mount on top at `path` (its real path): its id (mountinfo's first field), file system type and source; undefined when none. */
export function topMountAt(path: string, mountinfo?: string): { id: number; fstype: string; source: string } | undefined {
  const top = mountsOf(path, false, mountinfo).entries.at(-1);
  return top && { id: top.id, fstype: top.fstype, source: top.source };
}

/**
 * Whose the mount on top at `path` is, for a volume whose record names the mount it made by `id`:
 * `none` when nothing is mounted there; `own` when the mount is that one (with no id recorded, a
 * run cut off between its mount and its record, any mount there counts as its own); `foreign`
 * otherwise, and always when the record names no mount (`id` null).
 */
export function mountOwnership(path: string, id: number | undefined | null, mountinfo?: string): 'none' | 'own' | 'foreign' {
  const top = mountsOf(path, false, mountinfo).entries.at(-1);
  if (top === undefined) return 'none';
  return id !== null && (id === undefined || id === top.id) ? 'own' : 'foreign';
}

/** The per-mount options (`rw,nosuid,relatime`) of the mount on top at `path` (its real path); undefined when none is there. */
export function mountOptionsAt(path: string, mountinfo?: string): string[] | undefined {
  return mountsOf(path, false, mountinfo).entries.at(-1)?.options;
}

/** The mounts strictly below `dir` (its real path), as their mount points. */
export function mountsBelow(dir: string, mountinfo?: string): string[] {
  const { real, entries } = mountsOf(dir, true, mountinfo);
  return entries.filter((e) => e.point !== real).map((e) => e.point);
}

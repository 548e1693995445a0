// /proc/self/mountinfo: where this process's mount namespace has mounts.
import { readFileSync, realpathSync } from 'node:fs';

/** Undoes mountinfo's octal escapes (`\040` is a space). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** How many mounts are stacked on `path` (its real path; 0 when it is not there) in this process's mount namespace. */
export function mountsAt(path: string, mountinfo?: string): number {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return 0;
  }
  let n = 0;
  for (const line of (mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && unescapeMountField(mountPoint) === real) n++;
  }
  return n;
}

/** The per-mount options (`rw,nosuid,relatime`) of the mount on top at `path` (its real path); undefined when none is there. */
export function mountOptionsAt(path: string, mountinfo?: string): string[] | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  let options: string[] | undefined;
  for (const line of (mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const fields = line.split(' ');
    // The later of two mounts on one point is the one on top (mountinfo lists in mount order).
    if (fields[4] !== undefined && unescapeMountField(fields[4]) === real) options = (fields[5] ?? '').split(',');
  }
  return options;
}

/** The mounts strictly below `dir` (its real path), as their mount points. */
export function mountsBelow(dir: string, mountinfo?: string): string[] {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  const below: string[] = [];
  for (const line of (mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint === undefined) continue;
    const point = unescapeMountField(mountPoint);
    if (point.startsWith(`${real}/`)) below.push(point);
  }
  return below;
}

/** The mount on top at `path` (its real path): its id (mountinfo's first field), file system type and source; undefined when none. */
export function topMountAt(path: string, mountinfo?: string): { id: number; fstype: string; source: string } | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  let top: { id: number; fstype: string; source: string } | undefined;
  for (const line of (mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === undefined || unescapeMountField(fields[4]) !== real) continue;
    const dash = fields.indexOf('-');
    top = { id: Number(fields[0]), fstype: fields[dash + 1] ?? '', source: unescapeMountField(fields[dash + 2] ?? '') };
  }
  return top;
}

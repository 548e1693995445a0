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

// Disk usage as `du` counts it (allocated blocks, symlinks not followed, each inode once) and
// byte counts as docker prints them (1000-based, three significant digits).
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes allocated to `path` and everything under it; `seen` (dev:ino) counts a hardlinked inode once. */
export async function diskUsage(path: string, seen: Set<string> = new Set()): Promise<number> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return 0;
  }
  const key = `${info.dev}:${info.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  let total = info.blocks * 512;
  if (info.isDirectory()) {
    const names = await readdir(path).catch(() => [] as string[]);
    for (const name of names) total += await diskUsage(join(path, name), seen);
  }
  return total;
}

/** `1.23MB`, `0B`: bytes as docker shows them. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${n}B` : `${n.toPrecision(3)}${units[i]}`;
}

// Kernel probes behind observation: does this netns, link, cgroup, folder or process still
// exist? Each answers from the kernel's own files, never from our records.
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { isSameProcess } from '../runtime/proc.js';

/** statfs f_type of nsfs: what a live namespace bind mount reports. */
const NSFS_MAGIC = 0x6e736673;

/** A named netns exists: its bind mount under `netnsDir` is a namespace, not a leftover file. */
export async function netnsPresent(name: string, netnsDir: string): Promise<boolean> {
  try {
    return (await statfs(join(netnsDir, name))).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** A link of the host namespace exists (bridges, host-side veths). */
export async function linkPresent(name: string, sysClassNet = '/sys/class/net'): Promise<boolean> {
  return dirPresent(join(sysClassNet, name));
}

/** A folder exists (cgroup directories, volume folders). */
export async function dirPresent(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The recorded process still runs: same pid, same start time, not a zombie. */
export function processAlive(pid: number, startTime: number): boolean {
  return isSameProcess(pid, startTime);
}

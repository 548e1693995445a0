// Where a bench keeps stack's state (STACK_ROOT): under /run, beside stack's default state root
// /run/stack, so a bench measures the filesystem a user's state is on (a tmpfs on systemd hosts;
// on the VMs the README's tables come from, /run is a folder of the root ext4). Not the system's
// temporary folder: on that same VM, making a file in /tmp's block groups cost 0.1-0.45 ms against
// 0.02-0.04 in /run's (200 files each, node's writeFileSync), and a `down` of 20 services makes
// 40 such files. BENCH_STATE_DIR=<dir> puts it elsewhere (BENCH_STATE_DIR=/tmp measures that).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** A fresh folder for `name`'s STACK_ROOT; remove it with rmSync(dir, { recursive: true }). */
export function stateDir(name) {
  return mkdtempSync(join(process.env.BENCH_STATE_DIR ?? '/run', `stack-bench-${name}-`));
}

/** `dir (fstype)`: the filesystem the state is on, from /proc/self/mounts (the longest mount point above it). */
export function describeState(dir) {
  let best = { at: '', type: '?' };
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, at, type] = line.split(' ');
    if (at === undefined || type === undefined) continue;
    const mount = at.replace(/\\040/g, ' ');
    const under = mount === '/' || dir === mount || dir.startsWith(`${mount}/`);
    if (under && mount.length >= best.at.length) best = { at: mount, type };
  }
  return `${dir} (${best.type})`;
}

/** Removes a state folder made by stateDir (what stack left in it: nothing, after a clean down). */
export function removeStateDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

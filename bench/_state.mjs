// Where a bench keeps stack's state (STACK_ROOT): a fresh folder in the system's temporary folder,
// as before this module; BENCH_STATE_DIR=<dir> puts it elsewhere (the lifecycle's header names
// the folder and its filesystem type). On this VM kind the choice moves the 20-service rows by
// more than the code does (docs/performance.md, stop 50): /dev/shm (a tmpfs, as /run is on
// systemd hosts, where stack's default /run/stack lives) gave the lowest ratios, /run (a folder of
// the root ext4 here) the highest, though making a file there costs a third of what it costs in
// /tmp.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder for `name`'s STACK_ROOT; remove it with removeStateDir. */
export function stateDir(name) {
  return mkdtempSync(join(process.env.BENCH_STATE_DIR ?? tmpdir(), `stack-bench-${name}-`));
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

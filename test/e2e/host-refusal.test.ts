// What the host refuses, through the real CLI (bin/stack.cjs over dist/: `npm run build` first),
// is said with what to do (status 1), not as "internal error" and a stack trace: a full disk
// under stack's state (STACK_ROOT on a tmpfs of this test's with few inodes, filled once the
// project runs; once files are freed, `down` removes everything), and a run without root.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['mount', 'umount', 'setpriv'] }, 'what the host refuses', () => {
  const project = `hf${randomBytes(4).toString('hex')}`;
  let dir = '';
  let state = '';
  let filler = '';
  let mounted = false;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-full-'));
    state = join(dir, 'state');
    filler = join(state, 'filler');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,nr_inodes=512,mode=0700', 'tmpfs', state]);
    mounted = true;
  });
  const stack = (...args: string[]) => execa(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' }, reject: false });
  const service = (name: string) => `  ${name}:\n    command: ["sleep", "3600"]\n`;
  const ours = () => inventory().filter((e) => e.includes(project));

  /** Takes every inode left on the tmpfs; returns how many files that took. */
  function fill(): number {
    mkdirSync(filler, { recursive: true });
    for (let i = 0; ; i++) {
      try {
        writeFileSync(join(filler, String(i)), '');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return i;
        throw e;
      }
    }
  }

  afterAll(async () => {
    if (dir === '') return;
    try {
      if (mounted) {
        rmSync(filler, { recursive: true, force: true });
        await stack('down', '--timeout', '0');
      }
    } finally {
      if (mounted) unmount(state);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what the host refused, and down cleans up once there is room', async () => {
    writeFileSync(join(dir, 'stack.yaml'), `name: ${project}\nservices:\n${service('a')}`);
    const first = await stack('up', '-d');
    expect(first.exitCode, String(first.stderr)).toBe(0);
    expect(fill()).toBeGreaterThan(0);

    writeFileSync(join(dir, 'stack.yaml'), `name: ${project}\nservices:\n${service('a')}${service('b')}`);
    const up = await stack('up', '-d');
    expect(up.exitCode, String(up.stderr)).toBe(1);
    expect(String(up.stderr)).toMatch(/^stack: .*no space left on device: \w+ .*$/m);
    expect(String(up.stderr)).toMatch(/^hint: free space on the file system that holds .*`df -i`/m);
    expect(String(up.stderr)).not.toContain('internal error');

    const downFull = await stack('down');
    expect(downFull.exitCode, String(downFull.stderr)).toBe(1);
    expect(String(downFull.stderr)).toMatch(/^stack: no space left on device: open .*\/lock$/m);
    expect(String(downFull.stderr)).not.toContain('internal error');

    rmSync(filler, { recursive: true, force: true });
    const down = await stack('down');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(ours()).toEqual([]);
  });

  it('tells someone not root to run it as root, and makes nothing', async () => {
    // Under /tmp itself (1777), which nobody may enter whatever TMPDIR says.
    const elsewhere = mkdtempSync('/tmp/stack-nonroot-');
    chmodSync(elsewhere, 0o755);
    // The checkout and node seen through a folder anyone may enter (theirs may be under /root, 0700).
    const checkout = join(elsewhere, 'checkout');
    const node = join(elsewhere, 'node');
    const spec = join(elsewhere, 'stack.yaml');
    const binds: string[] = [];
    try {
      mkdirSync(checkout);
      writeFileSync(node, '', { mode: 0o755 });
      // Counted before the mount: a bind left by a mount that then failed (its read-only remount)
      // is unmounted too.
      binds.push(checkout);
      execFileSync('mount', ['--bind', '-o', 'ro', fileURLToPath(new URL('../..', import.meta.url)), checkout]);
      binds.push(node);
      execFileSync('mount', ['--bind', '-o', 'ro', process.execPath, node]);
      const name = `hn${randomBytes(4).toString('hex')}`;
      writeFileSync(spec, `name: ${name}\nservices:\n${service('a')}`, { mode: 0o644 });
      // nobody (65534), no supplementary groups, an environment of its own; its STACK_ROOT under
      // /run, where only root writes
      const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', node, join(checkout, 'bin/stack.cjs'), 'up', '-d'], {
        cwd: elsewhere,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: elsewhere, STACK_ROOT: join('/run', `stack-nonroot-${name}`) },
        extendEnv: false,
        reject: false,
      });
      expect(r.exitCode, String(r.stderr)).toBe(1);
      expect(String(r.stderr)).toMatch(/^stack: permission denied: \w+ \/run\/stack-nonroot-/m);
      expect(String(r.stderr)).toMatch(/^hint: .*run it as root \(`sudo stack \.\.\.`\)$/m);
      expect(String(r.stderr)).not.toContain('internal error');
      expect(inventory().filter((e) => e.includes(name))).toEqual([]);
    } finally {
      for (const b of binds.reverse()) unmount(b);
      // Never a recursive removal here: each mount point goes with rmdir or unlink, which a live
      // mount refuses (EBUSY), so nothing under a bind of the checkout can be touched.
      rmSync(spec, { force: true });
      rmSync(node, { force: true });
      rmdirSync(checkout);
      rmdirSync(elsewhere);
    }
  });
});

/** Unmounts `path`, detaching it at once when something still holds it (gone once let go); nothing when it is no mount point. */
function unmount(path: string): void {
  const mounted = (): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
  if (!mounted()) return;
  try {
    execFileSync('umount', [path]);
  } catch {
    execFileSync('umount', ['-l', path]);
  }
}

// Escape attempts at credentials beyond the obvious homes (issue 9), each by a root service with
// the default view (the hidden paths of this host, as start-service computes them): the
// kernel's debug filesystems under /sys (debugfs, tracefs, securityfs, bpffs), a system user's
// home (uid < 1000, as /var/lib/postgresql holds .pgpass), root's podman registry credentials
// (~/.config/containers/auth.json), agent sockets in the host's /tmp and /run. Each attempt
// fails and the host is unchanged; `x-stack-show` gives a credential back, which proves the
// path is reachable and the hide is what stops the read. Real kernel, root.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serviceHides } from '../../../src/runtime/hidden.js';
import type { ServiceView } from '../../../src/runtime/view.js';
import type { Service } from '../../../src/spec/project.js';
import type { StateRoots } from '../../../src/state/paths.js';
import { describeWith } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from '../launch/harness.js';

const tag = `stkcred${randomBytes(4).toString('hex')}`;
const canary = `canary-${randomBytes(8).toString('hex')}`;
/** A system user's home outside /tmp and /run (those are the view's own): where /var/lib/postgresql would be. */
const systemHome = `/var/lib/${tag}`;
const podmanAuth = '/root/.config/containers/auth.json';
/** The kernel filesystems the view masks, with a file each shows on the host once mounted ('' for an empty one). */
const kernelFs = [
  { type: 'debugfs', at: '/sys/kernel/debug', file: 'bdi' },
  { type: 'tracefs', at: '/sys/kernel/tracing', file: 'README' },
  { type: 'securityfs', at: '/sys/kernel/security', file: 'lsm' },
  { type: 'bpf', at: '/sys/fs/bpf', file: '' },
];

/** Whether `path` is a mount point in this process's namespace. */
function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

describeWith({ root: true, commands: ['useradd', 'userdel', 'mount', 'umount'] }, 'escape: credentials beyond the homes, and the kernel\'s debug filesystems', () => {
  const rig = new LaunchRig();
  let roots: StateRoots;
  let files: { hosts: string; hostname: string; resolvConf: string };
  let authBefore: Buffer | undefined;
  const madeDirs: string[] = []; // folders of root's home this file created (deepest last)
  const mountedHere: string[] = [];
  let userMade = false;

  beforeAll(() => {
    buildLauncher();
    roots = { run: join(rig.dir, 'run'), lib: join(rig.dir, 'lib') };
    files = { hosts: join(rig.dir, 'hosts'), hostname: join(rig.dir, 'hostname'), resolvConf: join(rig.dir, 'resolv.conf') };
    writeFileSync(files.hosts, '127.0.0.1\tlocalhost\n');
    writeFileSync(files.hostname, 'svc\n');
    writeFileSync(files.resolvConf, 'nameserver 10.9.8.1\n');
    // The kernel filesystems, mounted on the host for this file where the host has not (removed afterwards).
    for (const fs of kernelFs) {
      if (mounted(fs.at)) continue;
      execFileSync('mount', ['-t', fs.type, 'none', fs.at]);
      mountedHere.push(fs.at);
    }
    // A system user (uid < 1000) whose home holds a .pgpass and an SSH key.
    execFileSync('useradd', ['-r', '-M', '-d', systemHome, '-s', '/usr/sbin/nologin', tag]);
    userMade = true;
    mkdirSync(join(systemHome, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(systemHome, '.pgpass'), `*:*:*:postgres:${canary}\n`, { mode: 0o600 });
    writeFileSync(join(systemHome, '.ssh', 'id_ed25519'), canary, { mode: 0o600 });
    // Root's podman registry credentials (whatever was there is put back afterwards).
    authBefore = existsSync(podmanAuth) ? readFileSync(podmanAuth) : undefined;
    for (let dir = dirname(podmanAuth); !existsSync(dir); dir = dirname(dir)) madeDirs.unshift(dir);
    for (const dir of madeDirs) mkdirSync(dir, { mode: 0o700 });
    writeFileSync(podmanAuth, JSON.stringify({ auths: { 'registry.example': { auth: canary } } }), { mode: 0o600 });
    // An agent socket's folder in the host's /tmp and an XDG runtime dir's file in the host's /run.
    mkdirSync(`/tmp/ssh-${tag}`, { mode: 0o700 });
    writeFileSync(`/tmp/ssh-${tag}/agent.1`, canary);
    mkdirSync(`/run/${tag}`, { mode: 0o700 });
    writeFileSync(`/run/${tag}/auth.json`, canary);
  });

  afterAll(async () => {
    await rig.cleanup();
    for (const at of mountedHere.reverse()) execFileSync('umount', [at]);
    if (userMade) execFileSync('userdel', [tag]);
    rmSync(systemHome, { recursive: true, force: true });
    if (authBefore !== undefined) writeFileSync(podmanAuth, authBefore, { mode: 0o600 });
    else rmSync(podmanAuth, { force: true });
    for (const dir of madeDirs.reverse()) rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/ssh-${tag}`, { recursive: true, force: true });
    rmSync(`/run/${tag}`, { recursive: true, force: true });
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain(`${tag}:`);
  });

  /** Runs `script` as a root service with the default view (this host's hidden paths). */
  async function inView(script: string, service: Partial<Service> = {}) {
    const svc = testService({ command: ['sh', '-c', script], ...service });
    const view: ServiceView = { etcFiles: files, mounts: [], hide: serviceHides(roots, svc) };
    const result = await rig.run(svc, { view });
    expect(result.record.exitCode).toBe(0);
    return result.lines;
  }

  it('cannot list or read debugfs, tracefs, securityfs, bpffs (each an empty read-only tmpfs in its view)', async () => {
    // On the host they are there to read.
    for (const fs of kernelFs) if (fs.file !== '') expect(readdirSync(fs.at)).toContain(fs.file);
    const script = kernelFs
      .map((fs) => `echo "${fs.at}: $(ls -A ${fs.at} 2>&1 | wc -l) $(grep " ${fs.at} " /proc/self/mountinfo | tail -1 | sed 's/.* - \\([^ ]*\\) .*/\\1/')"`)
      .concat(['cat /sys/kernel/tracing/README /sys/kernel/security/lsm 2>/dev/null | wc -c', 'touch /sys/kernel/debug/x 2>/dev/null && echo wrote || echo refused'])
      .join('; ');
    const lines = await inView(script);
    expect(lines).toEqual([...kernelFs.map((fs) => `${fs.at}: 0 tmpfs`), '0', 'refused']);
  });

  it('cannot read a system user\'s (uid < 1000) ~/.pgpass or ~/.ssh, nor root\'s podman auth.json; x-stack-show gives one back', async () => {
    const uid = Number(execFileSync('id', ['-u', tag], { encoding: 'utf8' }));
    expect(uid).toBeLessThan(1000);
    const script = `cat ${systemHome}/.pgpass ${systemHome}/.ssh/id_ed25519 ${podmanAuth} 2>/dev/null; ls -A ${systemHome}/.ssh; echo done`;
    const lines = await inView(script);
    expect(lines.join('\n')).not.toContain(canary);
    expect(lines).toEqual(['done']);
    // The same paths are reachable when shown: the hide is what stopped the reads.
    expect((await inView(`cat ${systemHome}/.pgpass`, { show: ['~/.pgpass'] })).join('\n')).toContain(canary);
    expect((await inView(`cat ${podmanAuth}`, { show: ['~/.config/containers/auth.json'] })).join('\n')).toContain(canary);
    expect(readFileSync(podmanAuth, 'utf8')).toContain(canary);
  });

  it('cannot reach an agent socket\'s folder in the host\'s /tmp nor a runtime dir in the host\'s /run (the view has its own)', async () => {
    const lines = await inView(`cat /tmp/ssh-${tag}/agent.1 /run/${tag}/auth.json 2>/dev/null; ls -d /run/user/* /tmp/ssh-* 2>/dev/null; echo done`);
    expect(lines).toEqual(['done']);
    expect(readFileSync(`/tmp/ssh-${tag}/agent.1`, 'utf8')).toBe(canary);
  });
});

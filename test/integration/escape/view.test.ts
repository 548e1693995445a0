// Escape attempts through a service's filesystem view (issue 9), each by a root service with
// the default settings: read the host's password hashes, a canary in root's and in a user's
// ~/.ssh, another project's volume; write on the host through a volume target in the view's
// staging folder, or through a bind source swapped for a symlink to /; fill its /tmp; grow its
// /etc/hosts. Each attempt fails and the host is unchanged; a toolchain under a home still runs,
// `x-stack-show` widens the view; every writable mount is nosuid and nodev. Real kernel, root.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { serviceHides } from '../../../src/runtime/hidden.js';
import { encodeLaunchRequest } from '../../../src/runtime/launcher-config.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import { prepareMounts } from '../../../src/runtime/mounts.js';
import { DEFAULT_TMPFS_SIZE_BYTES, type ServiceView, type ViewMount } from '../../../src/runtime/view.js';
import type { Project, Service } from '../../../src/spec/project.js';
import type { StateRoots } from '../../../src/state/paths.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, waitForExit } from '../launch/harness.js';

const tag = `stkesc${randomBytes(4).toString('hex')}`;
const canary = `canary-${randomBytes(8).toString('hex')}`;
const home = `/home/${tag}`;
const rootSsh = '/root/.ssh';
const rootCanary = join(rootSsh, `stack-canary-${tag}`);
const otherVolume = `/var/lib/stack/volumes/${tag}_data`;

describeRoot('escape: the filesystem view', () => {
  const rig = new LaunchRig();
  let roots: StateRoots;
  let files: { hosts: string; hostname: string; resolvConf: string };
  const made: string[] = []; // host paths this file created, removed afterwards (deepest first)

  function make(dir: string): void {
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      if (!existsSync(p)) {
        mkdirSync(p, { mode: 0o700 });
        made.push(p);
      }
    }
  }

  beforeAll(() => {
    buildLauncher();
    roots = { run: join(rig.dir, 'run'), lib: '/var/lib/stack' };
    files = { hosts: join(rig.dir, 'hosts'), hostname: join(rig.dir, 'hostname'), resolvConf: join(rig.dir, 'resolv.conf') };
    writeFileSync(files.hosts, '127.0.0.1\tlocalhost\n');
    writeFileSync(files.hostname, 'svc\n');
    writeFileSync(files.resolvConf, 'nameserver 10.9.8.1\n');
    make(rootSsh);
    writeFileSync(rootCanary, canary, { mode: 0o600 });
    make(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), canary, { mode: 0o600 });
    make(join(home, '.local', 'bin'));
    writeFileSync(join(home, '.local', 'bin', 'tool'), '#!/bin/sh\necho tool ran\n');
    chmodSync(join(home, '.local', 'bin', 'tool'), 0o755);
    make(otherVolume);
    writeFileSync(join(otherVolume, 'secret'), canary);
  });

  afterAll(async () => {
    await rig.cleanup();
    rmSync(rootCanary, { force: true });
    rmSync(home, { recursive: true, force: true });
    rmSync(otherVolume, { recursive: true, force: true });
    for (const p of made.reverse()) rmSync(p, { recursive: true, force: true });
    expect(existsSync(`/${tag}`)).toBe(false);
  });

  /** Runs `script` as a root service with the default view (the hidden paths of this host). */
  async function inView(script: string, mounts: ViewMount[] = [], service: Partial<Service> = {}) {
    const svc = testService({ command: ['sh', '-c', script], ...service });
    const view: ServiceView = { etcFiles: files, mounts, hide: serviceHides(roots, svc) };
    return rig.run(svc, { view });
  }

  it('cannot read /etc/shadow, a canary in root\'s or a user\'s ~/.ssh, nor another project\'s volume', async () => {
    const script = [
      'cat /etc/shadow /etc/gshadow 2>/dev/null | head -c 200',
      `cat ${rootCanary} ${home}/.ssh/id_ed25519 ${otherVolume}/secret 2>/dev/null`,
      `ls -A ${rootSsh} ${home}/.ssh /var/lib/stack 2>&1`,
      'echo done',
    ].join('; ');
    const { lines, record } = await inView(script);
    expect(record.exitCode).toBe(0);
    expect(lines.join('\n')).not.toContain(canary);
    expect(lines.join('\n')).not.toMatch(/root:[^:]*:\d+/); // no shadow line
    expect(lines.at(-1)).toBe('done');
    expect(readFileSync(rootCanary, 'utf8')).toBe(canary);
  });

  it('a toolchain under a home folder still runs; x-stack-show and an explicit bind widen the view', async () => {
    const { lines } = await inView(`${home}/.local/bin/tool`);
    expect(lines).toEqual(['tool ran']);
    const shown = await inView(`cat ${home}/.ssh/id_ed25519; echo`, [], { show: ['~/.ssh'] });
    expect(shown.lines).toEqual([canary]);
    const bound = await inView('cat /keys/id_ed25519; echo', [{ type: 'bind', source: join(home, '.ssh'), target: '/keys', readOnly: true }]);
    expect(bound.lines).toEqual([canary]);
    const hidden = await inView(`cat ${home}/.local/bin/tool 2>/dev/null || echo hidden`, [], { hide: ['~/.local'] });
    expect(hidden.lines).toEqual(['hidden']);
  });

  it('a volume target in the view\'s staging folder is refused; nothing is created on the host', async () => {
    for (const target of [`/.stack-host/${tag}`, `/.stack-upper/${tag}`]) {
      const error = await inView('true', [{ type: 'tmpfs', target, readOnly: false }]).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe('MOUNT_TARGET');
    }
    expect(existsSync(`/${tag}`)).toBe(false);
  });

  it('a bind source swapped for a symlink to / is refused with its path on the next up (prepareMounts) and by the launcher; the host is unchanged', async () => {
    const project = join(rig.dir, 'project');
    mkdirSync(project);
    const svc = testService({ command: null, name: 'web', volumes: [{ type: 'bind', source: join(project, 'data'), target: '/data', readOnly: false, createHostPath: true }] });
    const spec: Project = { name: tag, workingDir: project, files: [], services: { web: svc }, networks: {}, volumes: {} };
    const prepare = () => prepareMounts({ roots, project: spec, mode: 'make' }, svc);
    const mounts = await prepare(); // the first up: makes ./data (beneath the project folder)
    expect(mounts).toEqual([{ type: 'bind', source: join(project, 'data'), target: '/data', readOnly: false, beneath: project }]);
    const first = await inView('echo ok > /data/file && echo wrote', mounts);
    expect(first.lines).toEqual(['wrote']);
    // The service (it has the folder writable) swaps it for a link to the host's root.
    rmSync(join(project, 'data'), { recursive: true });
    symlinkSync('/', join(project, 'data'));
    const next = await prepare().then(() => undefined, (e: unknown) => e);
    expect(next).toBeInstanceOf(UserError);
    expect((next as UserError).code).toBe('BIND_SOURCE_SYMLINK');
    expect((next as UserError).message).toContain(`goes through the symlink ${join(project, 'data')}`);
    // Swapped after prepareMounts looked (between prepare and launch): the launcher's own walk refuses it.
    const error = await inView(`touch /data/${tag} && echo escaped`, mounts).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(join(project, 'data'));
    expect(existsSync(`/${tag}`)).toBe(false);
  });

  it('the launcher itself refuses a target in its staging folders when asked directly (Node\'s checks bypassed); a tmpfs sent without a size gets one', async () => {
    const request = (target: string, name: string) => {
      const { logPath, exitPath } = rig.paths(name);
      const pairs: [string, string][] = [
        ['name', 'svc'], ['log', logPath], ['exit', exitPath], ['hostname', 'svc'], ['cwd', '/'],
        ['uid', '0'], ['gid', '0'], ['caps', '0'], ['netns', 'new'], ['view', '1'],
        ['mount', 'tmpfs'], ['mount_target', target], // no mount_size: the launcher's own default
        ['arg', 'sh'], ['arg', '-c'], ['arg', `awk '$5 == "${target}" { print $NF }' /proc/self/mountinfo`],
      ];
      return { out: spawnSync(LAUNCHER_PATH, [], { input: encodeLaunchRequest(pairs), encoding: 'utf8', timeout: 10_000 }), logPath, exitPath };
    };
    for (const staging of ['.stack-host', '.stack-upper']) {
      const { out } = request(`/${staging}/${tag}`, `direct-${staging}`);
      expect(out.stdout).toMatch(new RegExp(`^err\ttarget\tEPERM\tservice svc: volume target /\\${staging}/${tag}: /\\${staging} is where stack builds the view`));
    }
    expect(existsSync(`/${tag}`)).toBe(false);
    const sized = request('/scratch', 'direct-size');
    expect(sized.out.stdout).toMatch(/^ok\t/);
    await waitForExit(sized.exitPath);
    expect(readLogLines(sized.logPath).map((l) => l.text.split(',').find((o) => o.startsWith('size=')))).toEqual(['size=1048576k']);
  });

  it('filling /tmp stops at its size (ENOSPC); the host\'s /tmp gets nothing', async () => {
    const script = [
      `dd if=/dev/zero of=/tmp/${tag} bs=1M count=1100 2>&1 | grep -o "No space left on device" | head -1`,
      'df -k /tmp /run /var/tmp / | tail -n +2 | while read fs size rest; do echo "$size"; done',
    ].join('; ');
    const { lines } = await inView(script);
    expect(lines[0]).toBe('No space left on device');
    expect(lines.slice(1).map(Number)).toEqual([1024 * 1024, 64 * 1024, 1024 * 1024, 64 * 1024]);
    expect(existsSync(`/tmp/${tag}`)).toBe(false);
  });

  it('its /etc/hosts cannot be written, so the host file it comes from cannot grow', async () => {
    const before = statSync(files.hosts).size;
    const { lines } = await inView('{ head -c 1048576 /dev/zero >> /etc/hosts; } 2>/dev/null || echo refused');
    expect(lines).toEqual(['refused']);
    expect(statSync(files.hosts).size).toBe(before);
  });

  it('every writable mount it has (root, /tmp, /run, /var/tmp, /dev, /dev/shm, volumes) is nosuid and nodev; shm_size sizes /dev/shm', async () => {
    const data = join(rig.dir, 'vol');
    mkdirSync(data, { recursive: true });
    const mounts: ViewMount[] = [
      { type: 'bind', source: data, target: '/vol', readOnly: false },
      { type: 'tmpfs', target: '/scratch', readOnly: false },
    ];
    const script = [
      `for m in / /tmp /run /var/tmp /dev /dev/shm /vol /scratch; do awk -v m="$m" '$5 == m { print $5, $6 }' /proc/self/mountinfo | tail -1; done`,
      'df -k /dev/shm | tail -1 | while read fs size rest; do echo "$size"; done',
      `awk '$5 == "/scratch" { print $NF }' /proc/self/mountinfo`, // its super options: a size though the spec gave none
    ].join('; ');
    const { lines } = await inView(script, mounts, { shmSizeBytes: 128 * 1024 * 1024 });
    const flags = lines.slice(0, -2);
    expect(flags.map((l) => l.split(' ')[0])).toEqual(['/', '/tmp', '/run', '/var/tmp', '/dev', '/dev/shm', '/vol', '/scratch']);
    for (const line of flags) expect(line.split(' ')[1]!.split(',')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev']));
    expect(Number(lines.at(-2))).toBe(128 * 1024);
    expect(lines.at(-1)!.split(',')).toContain(`size=${DEFAULT_TMPFS_SIZE_BYTES / 1024}k`);
  });
});

// The service's own filesystem view (native/launcher/view.h): the host's folders read-only
// even to a root service, cgroupfs and /proc/sys too, private /tmp /run /var/tmp, its own
// /etc name files, a minimal /dev, masked /proc paths; volumes (bind rw and ro, the folders of
// named and anonymous volumes, tmpfs with size and mode) on targets confined to the view.
// Real kernel, root. Every path a test could leave on the host carries a random tag and is
// checked (and removed) afterwards, and no mount of theirs shows in the host's mount table.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { encodeLaunchRequest } from '../../../src/runtime/launcher-config.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import type { LaunchOptions } from '../../../src/runtime/launch.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import type { ServiceView, ViewMount } from '../../../src/runtime/view.js';
import type { Service } from '../../../src/spec/project.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, waitForExit } from './harness.js';

const tag = `stkview${randomBytes(4).toString('hex')}`;
/** Paths in the host's folders a broken view would let a service create. */
const hostProbes = ['/etc', '/usr', '/usr/share', '/root', '/var', '/var/lib', '/home', '/opt', '/srv', '/mnt', '/media', '/boot'].map((d) => join(d, tag));
/** None of these may exist on the host after the tests (the view's own root is a tmpfs: `/tag` is made there). */
const leftovers = [...hostProbes, ...hostProbes.map((p) => `${p}.d`), `/${tag}`, `/${tag}-root`];

/** Mount points of this (the host's) mount namespace that a leaking view would add. */
function leakedMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.includes(tag) || p.startsWith(dir) || p.includes('.stack-host') || p.includes('.stack-upper'));
}

/** Expects `launch` to be refused with a MOUNT_TARGET UserError whose message matches. */
async function expectRefused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).code).toBe('MOUNT_TARGET');
  expect((error as UserError).message).toMatch(message);
}

describeRoot('launch: a service\'s own filesystem view', () => {
  const rig = new LaunchRig();
  let files: { hosts: string; hostname: string; resolvConf: string };

  beforeAll(() => {
    buildLauncher();
    files = { hosts: join(rig.dir, 'hosts'), hostname: join(rig.dir, 'hostname'), resolvConf: join(rig.dir, 'resolv.conf') };
    writeFileSync(files.hosts, `127.0.0.1\tlocalhost\n10.9.8.7\tdb ${tag}\n`);
    writeFileSync(files.hostname, `${tag}\n`);
    writeFileSync(files.resolvConf, 'nameserver 10.9.8.1\noptions ndots:0\n');
  });

  afterAll(async () => {
    const leaked = leakedMounts(rig.dir);
    await rig.cleanup();
    const left = leftovers.filter((p) => existsSync(p));
    for (const p of left) rmSync(p, { recursive: true, force: true });
    expect(left).toEqual([]);
    expect(leaked).toEqual([]);
  });

  /** A host folder for a test (in the rig's temp dir, removed with it). */
  function hostDir(name: string): string {
    const dir = join(rig.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Runs `script` under sh in the view, as root unless the service says otherwise. */
  async function inView(script: string, mounts: ViewMount[] = [], service: Partial<Service> = {}, extra: Partial<LaunchOptions> = {}) {
    const view: ServiceView = { etcFiles: files, mounts };
    return rig.run(testService({ command: ['sh', '-c', script], ...service }), { view, ...extra });
  }

  describe('the host is read-only', () => {
    it('a root service cannot create or open for writing anything in the host\'s folders', async () => {
      const script = [
        `for p in ${hostProbes.join(' ')}; do`,
        '  touch "$p" 2>/dev/null && echo "created $p"',
        '  mkdir "$p.d" 2>/dev/null && echo "made folder $p.d"',
        'done',
        // Opening an existing file for appending writes nothing, even where it would succeed.
        'for f in /etc/passwd /usr/bin/sh /var/lib/dpkg/status; do true 2>/dev/null >> "$f" && echo "opened $f"; done',
        'echo checked',
      ].join('\n');
      const { record, lines } = await inView(script);
      expect(lines).toEqual(['checked']);
      expect(record.exitCode).toBe(0);
      expect(hostProbes.filter((p) => existsSync(p) || existsSync(`${p}.d`))).toEqual([]);
    });

    it('a root service can write neither its cgroup limits, nor cgroup.procs, nor a sysctl; /proc/sys is read-only', async () => {
      const group = await rig.group('view-limits', { memoryBytes: 64 * 1024 * 1024 });
      const memoryLimit = group.controllerFile('memory', group.version === 1 ? 'memory.limit_in_bytes' : 'memory.max');
      const script = [
        `echo 1073741824 2>/dev/null > ${memoryLimit} && echo raised`,
        `echo $$ 2>/dev/null > ${join(group.dirs[0]!, '..', '..', '..', 'cgroup.procs')} && echo escaped`,
        // ip_forward is per network namespace and this one is new: harmless even if it passed.
        'echo 1 2>/dev/null > /proc/sys/net/ipv4/ip_forward && echo sysctl written',
        'grep -E " /(proc/sys|sys|sys/fs/cgroup) " /proc/self/mountinfo | cut -d" " -f5,6 | cut -d, -f1',
      ].join('; ');
      const { lines } = await inView(script, [], {}, { cgroup: group });
      expect(lines).toEqual(['/sys ro', '/sys/fs/cgroup ro', '/proc/sys ro']);
      expect(readFileSync(memoryLimit, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    });

    it('reads the host\'s programs and files as they are; top-level symlinks stay symlinks', async () => {
      const { lines } = await inView('sha256sum /etc/passwd; readlink /bin; test -x /usr/bin/env && echo env runs');
      const hostSum = spawnSync('sha256sum', ['/etc/passwd'], { encoding: 'utf8' }).stdout.trim();
      const hostBin = spawnSync('readlink', ['/bin'], { encoding: 'utf8' }).stdout.trim();
      expect(lines).toEqual([hostSum, ...(hostBin ? [hostBin] : []), 'env runs']);
    });
  });

  describe('its own places', () => {
    it('/tmp, /run and /var/tmp are private, empty and writable; / itself is a tmpfs of its own', async () => {
      const marker = join('/tmp', `${tag}-host-marker`);
      writeFileSync(marker, 'host');
      try {
        const script = [
          'for d in /tmp /run /var/tmp; do echo "$d: $(ls -A $d | wc -l)"; echo hi > $d/f && cat $d/f; done',
          `touch /${tag}-root && echo root written`,
          'ls -A / | grep -c stack-host',
        ].join('; ');
        const { lines } = await inView(script);
        expect(lines).toEqual(['/tmp: 0', 'hi', '/run: 0', 'hi', '/var/tmp: 0', 'hi', 'root written', '0']);
        expect(existsSync(`/${tag}-root`)).toBe(false);
        expect(existsSync('/tmp/f')).toBe(false);
      } finally {
        rmSync(marker, { force: true });
      }
    });

    it('/etc/hosts, /etc/hostname and /etc/resolv.conf are the files it was given, read-only (the host\'s file cannot grow)', async () => {
      const { lines } = await inView('cat /etc/hosts /etc/hostname /etc/resolv.conf; { echo "10.1.1.1 extra" >> /etc/hosts; } 2>/dev/null || echo refused');
      expect(lines).toEqual(['127.0.0.1\tlocalhost', `10.9.8.7\tdb ${tag}`, tag, 'nameserver 10.9.8.1', 'options ndots:0', 'refused']);
      expect(readFileSync(files.hosts, 'utf8')).not.toContain('10.1.1.1 extra');
    });

    it('on a host without /etc/hostname, the service\'s is made in an overlay of /etc', async () => {
      // A mount namespace whose /etc lacks hostname plays that host; the launcher starts in it.
      const fakeEtc = hostDir('fake-etc');
      writeFileSync(join(fakeEtc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      const { logPath, exitPath } = rig.paths('no-hostname');
      const request = encodeLaunchRequest([
        ['name', 'svc'], ['log', logPath], ['exit', exitPath], ['hostname', 'svc'], ['cwd', '/'],
        ['uid', '0'], ['gid', '0'], ['caps', '0'], ['netns', 'new'], ['view', '1'],
        ['etc_hosts', files.hosts], ['etc_hostname', files.hostname],
        ['arg', 'sh'], ['arg', '-c'], ['arg', 'cat /etc/hostname; echo $(ls /etc); touch /etc/x 2>/dev/null || echo etc refused'],
      ]);
      const out = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${fakeEtc} /etc && exec ${LAUNCHER_PATH}`], { input: request, encoding: 'utf8', timeout: 10_000 });
      expect(out.stdout).toMatch(/^ok\t/);
      await waitForExit(exitPath);
      expect(readLogLines(logPath).map((l) => l.text)).toEqual([tag, 'hostname hosts passwd', 'etc refused']);
      expect(existsSync(join(fakeEtc, 'hostname'))).toBe(false);
    });

    it('has a minimal /dev: the usual devices, its own ptys, shm, mqueue and the fd links, none of the host\'s disks', async () => {
      const script = 'ls -A /dev | tr "\\n" " "; echo; echo x > /dev/null && echo null ok; head -c 4 /dev/urandom | wc -c; echo s > /dev/shm/s && echo shm ok';
      const { lines } = await inView(script);
      expect(lines[0]?.trim().split(' ').sort()).toEqual(
        ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].sort(),
      );
      expect(lines.slice(1)).toEqual(['null ok', '4', 'shm ok']);
    });

    it('the /proc paths Docker masks read empty', async () => {
      const paths = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats', '/proc/interrupts', '/proc/timer_stats'];
      const present = paths.filter((p) => existsSync(p));
      const dirs = ['/proc/acpi', '/proc/scsi', '/proc/asound', '/sys/firmware'].filter((p) => existsSync(p));
      expect(present.length + dirs.length).toBeGreaterThan(0);
      const script = [...present.map((p) => `echo "${p} $(wc -c < ${p})"`), ...dirs.map((d) => `echo "${d} $(ls -A ${d} | wc -l)"`)].join('; ');
      const { lines } = await inView(script);
      expect(lines).toEqual([...present, ...dirs].map((p) => `${p} 0`));
    });

    it('a non-root service runs in it too', async () => {
      const { record, lines } = await inView('id -u; touch /x 2>/dev/null || echo root refused; touch /tmp/x && echo tmp ok', [], { user: '65534:65534' });
      expect(record.exitCode).toBe(0);
      expect(lines).toEqual(['65534', 'root refused', 'tmp ok']);
    });
  });

  describe('volumes', () => {
    it('a read-write bind lands on the host, a read-only one refuses writes; a file can be bound', async () => {
      const rw = hostDir('rw');
      const ro = hostDir('ro');
      writeFileSync(join(ro, 'in'), 'from host\n');
      const conf = join(rig.dir, 'app.conf');
      writeFileSync(conf, 'key=value\n');
      const mounts: ViewMount[] = [
        { type: 'bind', source: rw, target: '/data', readOnly: false },
        { type: 'bind', source: ro, target: '/config', readOnly: true },
        { type: 'bind', source: conf, target: '/srv-conf/app.conf', readOnly: true },
      ];
      const script = 'echo hello > /data/out && echo wrote; cat /config/in; touch /config/x 2>/dev/null || echo ro refused; cat /srv-conf/app.conf';
      const { lines } = await inView(script, mounts);
      expect(lines).toEqual(['wrote', 'from host', 'ro refused', 'key=value']);
      expect(readFileSync(join(rw, 'out'), 'utf8')).toBe('hello\n');
      expect(existsSync(join(ro, 'x'))).toBe(false);
    });

    it('a named volume\'s folder and an anonymous volume inside a bind (compose\'s /app/node_modules) each get their writes', async () => {
      const project = hostDir('project');
      const named = hostDir('volumes/proj_pgdata');
      const anonymous = hostDir('volumes/proj_anon');
      const mounts: ViewMount[] = [
        { type: 'bind', source: project, target: '/app', readOnly: false },
        { type: 'bind', source: anonymous, target: '/app/node_modules', readOnly: false },
        { type: 'bind', source: named, target: `/var/lib/${tag}/data`, readOnly: false },
      ];
      const { lines } = await inView(`echo m > /app/node_modules/mod && echo p > /var/lib/${tag}/data/PG_VERSION && echo a > /app/index.js && echo ok`, mounts);
      expect(lines).toEqual(['ok']);
      expect(readFileSync(join(anonymous, 'mod'), 'utf8')).toBe('m\n');
      expect(readFileSync(join(named, 'PG_VERSION'), 'utf8')).toBe('p\n');
      expect(readFileSync(join(project, 'index.js'), 'utf8')).toBe('a\n');
      expect(existsSync(join(project, 'node_modules', 'mod'))).toBe(false);
    });

    it('a bind source that does not exist is a UserError naming it', async () => {
      const missing = join(rig.dir, 'not-there');
      const error = await inView('true', [{ type: 'bind', source: missing, target: '/data', readOnly: false }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe('BIND_SOURCE_MISSING');
      expect((error as UserError).message).toBe(`service "svc": volume source ${missing} does not exist`);
    });

    it('a tmpfs has its size and mode; a read-only one refuses writes', async () => {
      const mounts: ViewMount[] = [
        { type: 'tmpfs', target: '/scratch', readOnly: false, sizeBytes: 1024 * 1024, mode: 0o1777 },
        { type: 'tmpfs', target: '/sealed', readOnly: true },
      ];
      const script = [
        'df -k /scratch | tail -1 | tr -s " " | cut -d" " -f2',
        'stat -c %a /scratch',
        'head -c 2097152 /dev/zero > /scratch/big 2>/dev/null || echo full',
        'touch /sealed/x 2>/dev/null || echo sealed',
      ].join('; ');
      const { lines } = await inView(script, mounts);
      expect(lines).toEqual(['1024', '1777', 'full', 'sealed']);
    });

    it('a target the host lacks is made in the view, never on the host', async () => {
      const data = hostDir('made');
      const { lines } = await inView(`ls -d /${tag}/deep/app`, [{ type: 'bind', source: data, target: `/${tag}/deep/app`, readOnly: false }]);
      expect(lines).toEqual([`/${tag}/deep/app`]);
      expect(existsSync(`/${tag}`)).toBe(false);
    });

    it('one inside a host folder is made in an overlay of it: the folder keeps its content and stays read-only', async () => {
      const data = hostDir('overlaid');
      const mounts: ViewMount[] = [
        { type: 'bind', source: data, target: `/usr/share/${tag}/x`, readOnly: false },
        { type: 'tmpfs', target: `/var/${tag}/y`, readOnly: false },
        { type: 'tmpfs', target: `/var/${tag}/z`, readOnly: false },
      ];
      const script = [
        'ls /usr/share | wc -l',
        `echo in > /usr/share/${tag}/x/f && echo volume written`,
        'touch /usr/share/new 2>/dev/null || echo share refused',
        `touch /var/${tag}/y/f /var/${tag}/z/f && echo tmpfs written`,
        'touch /var/new 2>/dev/null || echo var refused',
        // /var/tmp, a mount below the overlaid /var, is carried over the overlay.
        'touch /var/tmp/f && echo var/tmp written',
        'stat -f -c %T /var/tmp',
        'ls -A / | grep -c stack-upper',
      ].join('; ');
      const { lines } = await inView(script, mounts);
      const hostShare = spawnSync('sh', ['-c', 'ls /usr/share | wc -l'], { encoding: 'utf8' }).stdout.trim();
      expect(lines).toEqual([String(Number(hostShare) + 1), 'volume written', 'share refused', 'tmpfs written', 'var refused', 'var/tmp written', 'tmpfs', '0']);
      expect(readFileSync(join(data, 'f'), 'utf8')).toBe('in\n');
      expect(existsSync(`/usr/share/${tag}`)).toBe(false);
      expect(existsSync(`/var/${tag}`)).toBe(false);
    });

    it('read_only: / refuses writes, volumes and /tmp /run /var/tmp stay writable', async () => {
      const data = hostDir('ro-root');
      const script = 'touch /x 2>/dev/null || echo root refused; mkdir /y 2>/dev/null || echo mkdir refused; for d in /data /tmp /run /var/tmp; do touch $d/x && echo "$d ok"; done';
      const { lines } = await inView(script, [{ type: 'bind', source: data, target: '/data', readOnly: false }], { readOnly: true });
      expect(lines).toEqual(['root refused', 'mkdir refused', '/data ok', '/tmp ok', '/run ok', '/var/tmp ok']);
    });
  });

  describe('targets are confined', () => {
    it('a target reached through a symlink is refused, even one pointing inside the view (data -> /etc)', async () => {
      const project = hostDir('symlinked');
      symlinkSync('/etc', join(project, 'data'));
      const bind: ViewMount = { type: 'bind', source: project, target: '/proj', readOnly: false };
      await expectRefused(
        inView('true', [bind, { type: 'tmpfs', target: '/proj/data', readOnly: false }]),
        /^service "svc": volume target \/proj\/data: \/proj\/data is a symlink \(-> \/etc\)/,
      );
      await expectRefused(
        inView('true', [bind, { type: 'tmpfs', target: '/proj/data/x', readOnly: false }]),
        /^service "svc": volume target \/proj\/data\/x: \/proj\/data is a symlink \(-> \/etc\)/,
      );
      expect(existsSync('/etc/x')).toBe(false);
    });

    it('a file bound over a symlink covers the symlink itself; nothing is followed', async () => {
      const project = hostDir('file-over-link');
      symlinkSync('/etc/passwd', join(project, 'app.conf'));
      const conf = join(rig.dir, 'mine.conf');
      writeFileSync(conf, 'mine\n');
      const mounts: ViewMount[] = [
        { type: 'bind', source: project, target: '/proj', readOnly: true },
        { type: 'bind', source: conf, target: '/proj/app.conf', readOnly: true },
      ];
      const { lines } = await inView('cat /proj/app.conf; grep -c root /etc/passwd', mounts);
      expect(lines).toEqual(['mine', '1']);
      await expectRefused(inView('true', [mounts[0] as ViewMount, { type: 'bind', source: project, target: '/proj/app.conf', readOnly: false }]), /is a symlink/);
    });

    it('a folder over a file, or a file over a folder, is refused', async () => {
      const conf = join(rig.dir, 'kind.conf');
      writeFileSync(conf, 'x\n');
      await expectRefused(inView('true', [{ type: 'bind', source: rig.dir, target: '/etc/passwd', readOnly: true }]), /\/etc\/passwd is a file, the volume's source is a folder/);
      await expectRefused(inView('true', [{ type: 'bind', source: conf, target: '/usr', readOnly: true }]), /\/usr is a folder, the volume's source is a file/);
    });

    it('relative targets, `..`, /proc and /sys are refused before anything starts', async () => {
      for (const [target, why] of [
        ['app', /is not an absolute path/],
        ['/app/../etc', /contains `\.` or `\.\.`/],
        ['/proc/sys', /is in \/proc/],
        ['/sys/fs/cgroup', /is in \/sys/],
        ['/', /is the root/],
      ] as const) {
        await expectRefused(inView('true', [{ type: 'tmpfs', target, readOnly: false }]), why);
      }
    });

    it('the launcher refuses them too when asked directly (its own last line of defence)', () => {
      for (const [target, answer] of [
        ['/app/../etc', /^err\ttarget\tEINVAL\tservice svc: volume target \/app\/\.\.\/etc: contains `\.\.`/],
        ['/proc/x', /^err\ttarget\tEPERM\tservice svc: volume target \/proc\/x: \/proc belongs to the kernel/],
        ['//sys', /^err\ttarget\tEPERM\t.*\/sys belongs to the kernel/],
        ['rel', /^err\ttarget\tEINVAL\t.*not an absolute path/],
      ] as const) {
        const { logPath, exitPath } = rig.paths(`direct-${randomBytes(3).toString('hex')}`);
        const request = encodeLaunchRequest([
          ['name', 'svc'], ['log', logPath], ['exit', exitPath], ['hostname', 'svc'], ['cwd', '/'],
          ['uid', '0'], ['gid', '0'], ['caps', '0'], ['netns', 'new'], ['view', '1'],
          ['mount', 'tmpfs'], ['mount_target', target], ['arg', '/bin/true'],
        ]);
        const out = spawnSync(LAUNCHER_PATH, [], { input: request, encoding: 'utf8', timeout: 10_000 });
        expect(out.stdout).toMatch(answer);
      }
    });
  });
});

// Process keys through the real CLI (bin/stack.cjs over dist/: `npm run build` first) and the
// real kernel: what the SERVICE sees at start (its own output, read back with `stack logs`) —
// `sysctls` set in its own network and IPC namespaces while the host's values stay as they were,
// `ulimits` in /proc/self/limits, `oom_score_adj`, `domainname`, `group_add` by name and number,
// `shm_size` as the size of its /dev/shm, `stop_signal` given as a number;
// a sysctl this kernel does not namespace refused by `up` naming it; bad input refused by
// `config` with file:line:col, the key, what was expected and a hint, all at once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'cat', 'id', 'domainname'] }, 'keys acted on at launch: sysctls, ulimits, oom_score_adj, domainname, group_add', () => {
  const project = `kp${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-process-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });
  const hostValue = (name: string) => readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
  // Values the host surely does not have, so the service's can only come from its spec.
  const somaxconn = String(Number(hostValue('net.core.somaxconn')) + 7);
  const msgmax = String(Number(hostValue('kernel.msgmax')) + 11);
  const before = { somaxconn: hostValue('net.core.somaxconn'), msgmax: hostValue('kernel.msgmax'), pingRange: hostValue('net.ipv4.ping_group_range') };
  const audio = /^audio:[^:]*:(\d+):/m.exec(readFileSync('/etc/group', 'utf8'))?.[1];

  beforeAll(() => {
    const script = [
      'echo somaxconn=$(cat /proc/sys/net/core/somaxconn)',
      'echo msgmax=$(cat /proc/sys/kernel/msgmax)',
      'echo ping=$(cat /proc/sys/net/ipv4/ping_group_range)',
      "grep -E '^Max (open files|processes|core file size)' /proc/self/limits | tr -s ' ' | sed 's/^/limit=/'",
      'echo oom=$(cat /proc/self/oom_score_adj)',
      'echo domain=$(domainname)',
      'echo groups=$(id -G)',
      "echo shm=$(df -k /dev/shm | awk 'NR==2 {print $2}')",
      'echo ready',
      'exec sleep infinity',
    ].join('; ');
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  app:',
        `    command: ["sh", "-c", ${JSON.stringify(script)}]`,
        '    sysctls:',
        `      net.core.somaxconn: ${somaxconn}`,
        `      kernel.msgmax: "${msgmax}"`,
        '    ulimits:',
        '      nofile: {soft: 1000, hard: 2000}',
        '      nproc: 500',
        '      core: 0',
        '    oom_score_adj: 321',
        '    domainname: example.org',
        '    group_add: [audio, 4321]',
        '    shm_size: 32m',
        '  sig:',
        '    command: ["sh", "-c", "trap \'echo stopped-by-usr1; exit 0\' USR1; echo waiting; while :; do sleep 0.1; done"]',
        '    stop_signal: 10',
        '  listed:',
        '    command: ["sh", "-c", "echo ping=$(cat /proc/sys/net/ipv4/ping_group_range); exec sleep infinity"]',
        '    sysctls: ["net.ipv4.ping_group_range=0 2147483647"]',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'global.yaml'), 'services:\n  lone:\n    command: sleep infinity\n    sysctls:\n      net.core.netdev_max_backlog: 1234\n');
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'services:',
        '  app:',
        '    command: sleep 1',
        '    sysctls:',
        '      vm.swappiness: 10',
        '    ulimits:',
        '      nofiles: 10',
        '      nproc: {soft: 20, hard: 10}',
        '    oom_score_adj: 5000',
        '    group_add: ["bad group"]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('stack.yaml', 'down', '--timeout', '0');
    await stack('global.yaml', 'down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the service sees its sysctls, limits, OOM score, domain name and groups; the host keeps its values', async () => {
    const up = await stack('stack.yaml', 'up', '-d');
    expect(up.stderr + up.stdout).not.toContain('error');
    expect(up.exitCode).toBe(0);
    const out = await eventually('the service to print its settings', async () => {
      const logs = await stack('stack.yaml', 'logs', '--no-log-prefix', 'app');
      return logs.stdout.includes('ready') ? logs.stdout : undefined;
    });
    const line = (key: string) => out.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());
    expect(line('somaxconn')).toEqual([somaxconn]);
    expect(line('msgmax')).toEqual([msgmax]);
    expect(line('limit')).toEqual(['Max core file size 0 0 bytes', 'Max processes 500 500 processes', 'Max open files 1000 2000 files']);
    expect(line('oom')).toEqual(['321']);
    expect(line('domain')).toEqual(['example.org']);
    expect(line('shm')).toEqual(['32768']);
    const groups = line('groups')[0]?.split(' ') ?? [];
    expect(groups).toContain('4321');
    if (audio !== undefined) expect(groups).toContain(audio);
    const listed = await eventually('the list-form service', async () => {
      const logs = await stack('stack.yaml', 'logs', '--no-log-prefix', 'listed');
      return /ping=.+/.exec(logs.stdout)?.[0];
    });
    expect(listed.replace(/\s+/g, ' ')).toBe('ping=0 2147483647');
    // Never on the host.
    expect({ somaxconn: hostValue('net.core.somaxconn'), msgmax: hostValue('kernel.msgmax'), pingRange: hostValue('net.ipv4.ping_group_range') }).toEqual(before);
  });

  it("a command run with stack exec has the service's ulimits (as docker exec)", async () => {
    const r = await stack('stack.yaml', 'exec', '-T', 'app', 'sh', '-c', 'ulimit -n; ulimit -Hn');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual(['1000', '2000']);
    // A one-off as another user (its process answers prlimit with EPERM: read from /proc/PID/limits).
    const one = await stack('stack.yaml', 'run', '--rm', '-T', '-u', '65534', 'app', 'sh', '-c', 'ulimit -n; ulimit -Hn');
    expect(one.exitCode).toBe(0);
    expect(one.stdout.trim().split(/\s+/)).toEqual(['1000', '2000']);
  });

  it('stop_signal as a number: the service gets that signal (10 = SIGUSR1)', async () => {
    await eventually('sig to wait', async () => (await stack('stack.yaml', 'logs', 'sig')).stdout.includes('waiting') || undefined);
    const stop = await stack('stack.yaml', 'stop', 'sig');
    expect(stop.exitCode).toBe(0);
    expect((await stack('stack.yaml', 'logs', '--no-log-prefix', 'sig')).stdout).toContain('stopped-by-usr1');
  });

  it('config shows the keys back', async () => {
    const r = await stack('stack.yaml', 'config', '--format', 'json');
    expect(r.exitCode).toBe(0);
    const app = (JSON.parse(r.stdout) as { services: Record<string, Record<string, unknown>> }).services.app!;
    expect(app.sysctls).toEqual({ 'kernel.msgmax': msgmax, 'net.core.somaxconn': somaxconn });
    expect(app.ulimits).toEqual({ core: 0, nofile: { soft: 1000, hard: 2000 }, nproc: 500 });
    expect(app.oom_score_adj).toBe(321);
    expect(app.domainname).toBe('example.org');
    expect(app.group_add).toEqual(['audio', '4321']);
  });

  it('up refuses a sysctl this kernel does not namespace, naming it', async () => {
    const r = await stack('global.yaml', 'up', '-d');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('net.core.netdev_max_backlog');
    expect(r.stderr).toContain("does not exist in the service's namespaces");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('config refuses bad input with file:line:col, key, expected and hint, all at once', async () => {
    const r = await stack('bad.yaml', 'config');
    expect(r.exitCode).toBe(1);
    const err = r.stderr;
    expect(err).toContain('5 errors');
    expect(err).toMatch(/bad\.yaml:5:22: error: services\.app\.sysctls\.vm\.swappiness: sysctl `vm\.swappiness` is not namespaced/);
    expect(err).toMatch(/bad\.yaml:7:16: error: services\.app\.ulimits\.nofiles: `nofiles` is not a resource limit[^]*hint: +did you mean `nofile`\?/);
    expect(err).toMatch(/bad\.yaml:8:14: error: services\.app\.ulimits\.nproc: the soft limit of `nproc` \(20\) is above its hard limit \(10\)/);
    expect(err).toMatch(/bad\.yaml:9:20: error: services\.app\.oom_score_adj: [^]*expected: a whole number from -1000/);
    expect(err).toMatch(/bad\.yaml:10:17: error: services\.app\.group_add\[0\]: `bad group` is not a group/);
  });
});

// cpu_shares, cpuset, mem_reservation and memswap_limit through the real CLI (bin/stack.cjs over
// dist/: `npm run build` first), on the hierarchy this host has (v1 or v2): the service's cgroup
// files hold them, and the service itself runs only on its cpuset (Cpus_allowed_list); bad input
// is refused by `config` with file:line:col, the key, what was expected and a hint.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openCgroups } from '../../src/runtime/cgroup/index.js';
import { cpuWeightOf } from '../../src/runtime/cgroup/limits.js';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const MiB = 1024 * 1024;

describeWith({ root: true, commands: ['sh', 'grep'] }, 'cgroup keys: cpu_shares, cpuset, mem_reservation, memswap_limit', () => {
  const project = `kc${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-cgroup-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });
  // The last cpu this host has: the service must run there only.
  const lastCpu = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(/[-,]/).pop()!;

  beforeAll(() => {
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  app:',
        `    command: ["sh", "-c", "grep Cpus_allowed_list /proc/self/status; echo ready; exec sleep infinity"]`,
        '    cpu_shares: 512',
        `    cpuset: "${lastCpu}"`,
        '    mem_limit: 64m',
        '    mem_reservation: 32m',
        '    memswap_limit: 96m',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'bad.yaml'),
      ['services:', '  app:', '    command: sleep 1', '    cpu_shares: 1000000', '    cpuset: "0-"', '    mem_reservation: 1g', '    mem_limit: 64m', '    memswap_limit: 32m', ''].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('stack.yaml', 'down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it("the service's cgroup holds them and the service runs on its cpuset only", async () => {
    const up = await stack('stack.yaml', 'up', '-d');
    expect(up.exitCode).toBe(0);
    const group = (await openCgroups()).open(project, 'app');
    const read = (controller: 'memory' | 'cpu' | 'cpuset', file: string) => readFileSync(group.controllerFile(controller, file), 'utf8').trim();
    if (group.version === 1) {
      expect(read('cpu', 'cpu.shares')).toBe('512');
      expect(read('cpuset', 'cpuset.cpus')).toBe(lastCpu);
      expect(read('memory', 'memory.soft_limit_in_bytes')).toBe(String(32 * MiB));
      expect(read('memory', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
      const memsw = group.controllerFile('memory', 'memory.memsw.limit_in_bytes');
      let swapAccounting = true;
      try { readFileSync(memsw); } catch { swapAccounting = false; }
      if (swapAccounting) expect(readFileSync(memsw, 'utf8').trim()).toBe(String(96 * MiB));
    } else {
      expect(read('cpu', 'cpu.weight')).toBe(String(cpuWeightOf(512)));
      expect(read('cpuset', 'cpuset.cpus')).toBe(lastCpu);
      expect(read('memory', 'memory.low')).toBe(String(32 * MiB));
      expect(read('memory', 'memory.max')).toBe(String(64 * MiB));
    }
    const out = await eventually('the service to print its cpus', async () => {
      const logs = await stack('stack.yaml', 'logs', '--no-log-prefix', 'app');
      return logs.stdout.includes('ready') ? logs.stdout : undefined;
    });
    expect(out).toMatch(new RegExp(`^Cpus_allowed_list:\\s+${lastCpu}$`, 'm'));
  });

  it('config refuses bad values with where, what and a hint, all at once', async () => {
    const r = await stack('bad.yaml', 'config');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:4:17: error: services\.app\.cpu_shares: .*\n\s+expected: a whole number from 2 to 262144/);
    expect(r.stderr).toMatch(/bad\.yaml:5:13: error: services\.app\.cpuset: `0-` is not a list of cpus/);
    expect(r.stderr).toMatch(/bad\.yaml:6:22: error: services\.app\.mem_reservation: `mem_reservation` is above the memory limit[^]*hint: +lower mem_reservation/);
    expect(r.stderr).toMatch(/bad\.yaml:8:20: error: services\.app\.memswap_limit: `memswap_limit` is below the memory limit/);
  });

  it('up refuses a cpuset of cpus the host does not give, naming the ones it gives', async () => {
    const other = `${project}x`;
    // The cpu after the last this host could ever have: past it on v1 and v2 alike (an offline
    // but possible cpu is one v2's root cpuset may hold).
    const beyond = String(Number(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(/[-,]/).pop()) + 1);
    writeFileSync(join(dir, 'beyond.yaml'), ['services:', '  app:', '    command: sleep 3600', `    cpuset: "${beyond}"`, ''].join('\n'));
    const run = (...args: string[]) => execa(process.execPath, [bin, '-p', other, '-f', join(dir, 'beyond.yaml'), ...args], { env, reject: false });
    try {
      const up = await run('up', '-d');
      expect(up.exitCode, up.stderr).toBe(1);
      expect(up.stderr).not.toContain('internal error');
      // Where the cpuset controller is there (v1, or delegated in v2), the kernel's refusal is
      // told with the parent's cpus; without it, its absence is.
      expect(up.stderr).toMatch(
        new RegExp(`^stack: service "app": (cpuset ${beyond}: not cpus this host gives its services \\(it gives [0-9,-]+\\)|.*cpuset.*(not mounted|no cpuset controller).*)$`, 'm'),
      );
    } finally {
      await run('down', '--timeout', '0');
    }
  });
});

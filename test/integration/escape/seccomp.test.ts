// Escape attempts through syscalls (issue 9), each by a root service with the default settings
// and through `exec` into it: a new user namespace (unshare -U, clone with CLONE_NEWUSER),
// clone3, keyctl, bpf, mount and kexec_load. Each is refused (EPERM, ENOSYS for clone3) by the
// default seccomp profile, which keeps refusing keyctl and kexec_load even with the capability
// (cap_add SYS_ADMIN, SYS_BOOT) while opening what Docker's opens with it; `seccomp=unconfined`
// and `privileged: true` run without a filter; a profile file is honoured. Real kernel, root.
// The syscalls go through perl's syscall(), with arguments that change nothing on the host
// when they do run (a keyring id lookup, an empty bpf attribute, kexec flags it rejects).
import { chmodSync, copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/caps.js';
import { execInService } from '../../../src/runtime/exec.js';
import { compiledSeccompPairs, seccompRequestPairs, serviceSeccomp } from '../../../src/runtime/seccomp/index.js';
import { SECCOMP_COMPILER_PATH, seccompCacheDir } from '../../../src/runtime/seccomp/compile.js';
import type { Service } from '../../../src/spec/project.js';
import type { SeccompProfile } from '../../../src/spec/seccomp-profile.js';
import { describeWith } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from '../launch/harness.js';

/** Each attempt prints `name=ok`, `name=EPERM`, `name=ENOSYS` or `name=E<n>`. */
const ATTACKS = String.raw`
require "syscall.ph";
use POSIX ();
sub report {
  my ($name, $r) = @_;
  my $e = $! + 0;
  print "$name=", ($r != -1 ? "ok" : $e == POSIX::EPERM ? "EPERM" : $e == POSIX::ENOSYS ? "ENOSYS" : "E$e"), "\n";
}
# clone(CLONE_NEWUSER|SIGCHLD) with no stack: a fork into a new user namespace; the child leaves at once.
my $pid = syscall(&SYS_clone, 0x10000000 | 17, 0, 0, 0, 0);
POSIX::_exit(0) if $pid == 0;
waitpid($pid, 0) if $pid > 0;
report("clone-newuser", $pid);
report("clone3", syscall(&SYS_clone3, 0, 0));
report("keyctl", syscall(&SYS_keyctl, 0, -3, 0));       # KEYCTL_GET_KEYRING_ID of the session keyring, no create
report("bpf", syscall(&SYS_bpf, 0, 0, 0));               # BPF_MAP_CREATE without an attribute
report("kexec_load", syscall(&SYS_kexec_load, 0, 0, 0, 0xfff0000));  # flags the kernel rejects
`;

describeWith({ root: true, commands: ['perl', 'unshare', 'mount'] }, 'escape: syscalls (seccomp)', () => {
  const rig = new LaunchRig();
  let attacks: string;
  let script: string;

  beforeAll(() => {
    buildLauncher();
    attacks = join(rig.dir, 'attacks.pl');
    writeFileSync(attacks, ATTACKS);
    script = [
      'unshare -U true 2>/dev/null && echo unshare=ok || echo unshare=refused',
      `mkdir -p ${rig.dir}/mnt && mount -t tmpfs none ${rig.dir}/mnt 2>/dev/null && echo mount=ok || echo mount=refused`,
      `perl ${attacks}`,
      'grep ^Seccomp: /proc/self/status',
    ].join('; ');
  });

  afterAll(() => rig.cleanup());

  /** Runs the attacks as a root service with `service` settings; its output lines. */
  async function attempt(service: Partial<Service> = {}): Promise<string[]> {
    const { record, lines } = await rig.run(testService({ command: ['sh', '-c', script], ...service }));
    expect(record.exitCode).toBe(0);
    return lines;
  }

  const REFUSED = ['unshare=refused', 'mount=refused', 'clone-newuser=EPERM', 'clone3=ENOSYS', 'keyctl=EPERM', 'bpf=EPERM', 'kexec_load=EPERM', 'Seccomp:\t2'];

  it('a root service with the default settings: every attempt is refused, clone3 with ENOSYS', async () => {
    expect(await attempt()).toEqual(REFUSED);
  });

  it('cap_add SYS_ADMIN opens namespaces and bpf as Docker\'s profile does; keyctl and kexec_load (even with SYS_BOOT) stay refused', async () => {
    // mount is not tried with SYS_ADMIN: without a view the service's mounts could reach the host's.
    const lines = await attempt({ capAdd: ['SYS_ADMIN', 'SYS_BOOT'], command: ['sh', '-c', `unshare -U true && echo unshare=ok; perl ${attacks}`] });
    expect(lines).toEqual(['unshare=ok', 'clone-newuser=ok', expect.stringMatching(/^clone3=E\d+$/), 'keyctl=EPERM', expect.stringMatching(/^bpf=E\d+$/), 'kexec_load=EPERM']);
    expect(lines).not.toContain('bpf=EPERM');
  });

  it('seccomp=unconfined: no filter, a new user namespace and keyctl work (mount stays refused: no CAP_SYS_ADMIN)', async () => {
    const lines = await attempt({ securityOpt: ['seccomp=unconfined'], seccomp: { mode: 'unconfined' } });
    expect(lines).toEqual(['unshare=ok', 'mount=refused', 'clone-newuser=ok', expect.stringMatching(/^clone3=E\d+$/), 'keyctl=ok', expect.stringMatching(/^bpf=E\d+$/), expect.stringMatching(/^kexec_load=E/), 'Seccomp:\t0']);
    expect(lines).not.toContain('clone3=ENOSYS');
  });

  it('privileged: true runs without a filter (as Docker)', async () => {
    const lines = await attempt({ privileged: true, command: ['sh', '-c', `unshare -U true && echo unshare=ok; grep ^Seccomp: /proc/self/status`] });
    expect(lines).toEqual(['unshare=ok', 'Seccomp:\t0']);
  });

  it('seccomp=FILE: a profile that denies mkdir makes mkdir fail; what it allows still runs', async () => {
    const profile: SeccompProfile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    const dir = join(rig.dir, 'made-by-service');
    const lines = await attempt({
      seccomp: { mode: 'file', path: join(rig.dir, 'deny-mkdir.json'), profile },
      command: ['sh', '-c', `mkdir ${dir} 2>&1 | grep -o 'Permission denied'; test -d ${dir} && echo made || echo not-made; unshare -U true && echo unshare=ok`],
    });
    expect(lines).toEqual(['Permission denied', 'not-made', 'unshare=ok']);
  });

  it('the same attacks through exec into a running default service are refused too (the exec helper loads the filter itself)', async () => {
    const started = await rig.start(testService({ command: ['sleep', '600'] }));
    const target = { service: testService({ command: ['sleep', '600'] }), pid: started.pid, startTime: started.startTime, cgroupDirs: started.group.dirs };
    const r = await execInService(target, ['sh', '-c', script]);
    expect(r.stdout.trim().split('\n')).toEqual(REFUSED);
    // `exec --privileged` gets every capability but keeps the service's filter, as Docker's exec does.
    const privileged = await execInService(target, ['sh', '-c', `perl ${attacks}`], { privileged: true });
    expect(privileged.stdout).toContain('keyctl=EPERM');
    expect(privileged.stdout).toContain('kexec_load=EPERM');
  });

  it('exec into an unconfined service runs unconfined: the filter is the service\'s, not the helper\'s', async () => {
    const service = testService({ command: ['sleep', '600'], seccomp: { mode: 'unconfined' } });
    const started = await rig.start(service);
    const r = await execInService({ service, pid: started.pid, startTime: started.startTime, cgroupDirs: started.group.dirs }, ['sh', '-c', 'unshare -U true && echo unshare=ok; grep ^Seccomp: /proc/self/status']);
    expect(r.stdout.trim().split('\n')).toEqual(['unshare=ok', 'Seccomp:\t0']);
  });

  it('launches send the filter compiled once by native/build/seccomp (the tests above ran it); without the compiler, the rules', async () => {
    const filter = serviceSeccomp({ seccomp: { mode: 'file', path: '/p.json', profile: { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] } } }, DEFAULT_CAPABILITIES);
    const pairs = await compiledSeccompPairs(filter);
    expect(pairs.map(([key]) => key)).toEqual(['seccomp_bpf', 'seccomp_flag']);
    expect(pairs[0]![1]).toMatch(/^([0-9a-f]{16})+$/);
    expect(pairs[1]).toEqual(['seccomp_flag', 'log']);
    const fallback = await compiledSeccompPairs(serviceSeccomp({}, DEFAULT_CAPABILITIES), join(rig.dir, 'no-such-compiler'));
    expect(fallback).toEqual(seccompRequestPairs(serviceSeccomp({}, DEFAULT_CAPABILITIES)));
    expect(await compiledSeccompPairs(undefined)).toEqual([]);
  });

  it('a compilation is kept in STACK_CACHE (0600 in a 0700 folder) and a later command reads it instead of running the compiler', async () => {
    const cache = join(rig.dir, 'cache');
    const compiler = join(rig.dir, 'seccomp-compiler');
    copyFileSync(SECCOMP_COMPILER_PATH, compiler);
    chmodSync(compiler, 0o755);
    const filter = serviceSeccomp({ seccomp: { mode: 'file', path: '/q.json', profile: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['rmdir'], action: 'SCMP_ACT_ERRNO' }] } } }, DEFAULT_CAPABILITIES);
    const previous = process.env.STACK_CACHE;
    process.env.STACK_CACHE = cache;
    try {
      const first = await compiledSeccompPairs(filter, compiler);
      const kept = readdirSync(seccompCacheDir()).filter((f) => f.endsWith('.bpf'));
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(seccompCacheDir(), kept[0]!)).toString('hex')).toBe(first[0]![1]);
      expect(statSync(join(seccompCacheDir(), kept[0]!)).mode & 0o777).toBe(0o600);
      expect(statSync(seccompCacheDir()).mode & 0o777).toBe(0o700);
      // A later command (a fresh module: nothing compiled in memory) with a compiler that can no
      // longer run (its mode changed, its content and mtime not) still sends the BPF: it was read back.
      chmodSync(compiler, 0o644);
      vi.resetModules();
      const fresh = await import('../../../src/runtime/seccomp/index.js');
      expect(await fresh.compiledSeccompPairs(filter, compiler)).toEqual(first);
      // A filter never compiled, with that compiler: the rules (the compiler did not run).
      const other = serviceSeccomp({}, DEFAULT_CAPABILITIES);
      expect(await fresh.compiledSeccompPairs(other, compiler)).toEqual(seccompRequestPairs(other));
      // Within one process a filter answered once is answered from memory: the compiler cannot
      // run and the kept compilation is gone, and the same filter still gets its BPF, each
      // answer a copy of its own; an equal filter (another object) gets the same BPF, by its content.
      rmSync(seccompCacheDir(), { recursive: true, force: true });
      const again = await fresh.compiledSeccompPairs(filter, compiler);
      expect(again).toEqual(first);
      again.pop();
      expect(await fresh.compiledSeccompPairs(filter, compiler)).toEqual(first);
      const equal = { ...filter!, rules: [...filter!.rules] };
      expect(await fresh.compiledSeccompPairs(equal, compiler)).toEqual(first);
    } finally {
      if (previous === undefined) delete process.env.STACK_CACHE;
      else process.env.STACK_CACHE = previous;
    }
  });
});

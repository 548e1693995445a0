// The default profile and a user's resolved for a service: capabilities, architecture and
// kernel decide which rules exist, as in Docker's setupSeccomp; then the request pairs.
import { describe, expect, test } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/caps.js';
import { decodeLaunchRequest, encodeLaunchRequest } from '../../../src/runtime/launcher-config.js';
import { DEFAULT_SECCOMP_PROFILE, resolveSeccomp, seccompRequestPairs, serviceSeccomp, type SeccompFilter } from '../../../src/runtime/seccomp/index.js';
import type { SeccompProfile } from '../../../src/spec/seccomp-profile.js';

const amd64 = { arch: 'amd64', kernel: [6, 18] } as const;
const arm64 = { arch: 'arm64', kernel: [6, 18] } as const;

/** The rules of `filter` for syscall `name`. */
const rulesFor = (filter: SeccompFilter | undefined, name: string) => filter?.rules.filter((r) => r.name === name) ?? [];

describe('the default profile', () => {
  const plain = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, DEFAULT_CAPABILITIES, amd64);

  test('refuses with EPERM by default, on x86_64 and its 32-bit ABIs', () => {
    expect(plain?.defaultAction).toBe('errno:1');
    expect(plain?.arches).toEqual(['x86_64', 'x86', 'x32']);
  });

  test('without CAP_SYS_ADMIN: clone only without namespace flags, clone3 ENOSYS, no unshare, mount, setns, bpf', () => {
    expect(rulesFor(plain, 'clone')).toEqual([{ name: 'clone', action: 'allow', args: [{ index: 0, op: 'masked_eq', value: 0x7e020000, valueTwo: 0 }] }]);
    expect(rulesFor(plain, 'clone3')).toEqual([{ name: 'clone3', action: 'errno:38', args: [] }]);
    for (const name of ['unshare', 'mount', 'umount2', 'setns', 'bpf', 'fsopen', 'open_tree', 'perf_event_open', 'sethostname']) {
      expect(rulesFor(plain, name)).toEqual([]);
    }
  });

  test('keyctl, kexec_load, add_key, userfaultfd and io_uring are named by no rule, whatever the capabilities', () => {
    const everything = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, ['CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_MODULE', 'CAP_BPF'], amd64);
    for (const name of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'kexec_file_load', 'userfaultfd', 'io_uring_setup']) {
      expect(rulesFor(plain, name)).toEqual([]);
      expect(rulesFor(everything, name)).toEqual([]);
    }
  });

  test('with CAP_SYS_ADMIN the clone rules relax as Docker\'s do: any clone, clone3 and unshare allowed', () => {
    const admin = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], amd64);
    expect(rulesFor(admin, 'clone')).toEqual([{ name: 'clone', action: 'allow', args: [] }]);
    expect(rulesFor(admin, 'clone3')).toEqual([{ name: 'clone3', action: 'allow', args: [] }]);
    for (const name of ['unshare', 'mount', 'setns', 'bpf']) expect(rulesFor(admin, name)).toEqual([{ name, action: 'allow', args: [] }]);
  });

  test('each capability opens its own syscalls only', () => {
    const bpf = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, ['CAP_BPF'], amd64);
    expect(rulesFor(bpf, 'bpf')).toHaveLength(1);
    expect(rulesFor(bpf, 'mount')).toEqual([]);
    const ptrace = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, ['CAP_SYS_PTRACE'], amd64);
    expect(rulesFor(ptrace, 'kcmp')).toHaveLength(1);
    expect(rulesFor(plain, 'kcmp')).toEqual([]);
    expect(rulesFor(plain, 'chroot')).toHaveLength(1); // CAP_SYS_CHROOT is in the default set
    expect(rulesFor(resolveSeccomp(DEFAULT_SECCOMP_PROFILE, [], amd64), 'chroot')).toEqual([]);
  });

  test('ptrace from kernel 4.8 on (minKernel), not before', () => {
    expect(rulesFor(plain, 'ptrace')).toHaveLength(1);
    expect(rulesFor(resolveSeccomp(DEFAULT_SECCOMP_PROFILE, DEFAULT_CAPABILITIES, { arch: 'amd64', kernel: [4, 4] }), 'ptrace')).toEqual([]);
  });

  test('socket: every family but AF_ALG (38) and AF_VSOCK (40)', () => {
    expect(rulesFor(plain, 'socket').map((r) => r.args)).toEqual([
      [{ index: 0, op: 'lt', value: 38, valueTwo: 0 }],
      [{ index: 0, op: 'eq', value: 39, valueTwo: 0 }],
      [{ index: 0, op: 'gt', value: 40, valueTwo: 0 }],
    ]);
  });

  test('architecture rules: arch_prctl on x86_64, set_tls on aarch64 (with arm as its sub-architecture)', () => {
    expect(rulesFor(plain, 'arch_prctl')).toHaveLength(1);
    expect(rulesFor(plain, 'set_tls')).toEqual([]);
    const arm = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, DEFAULT_CAPABILITIES, arm64);
    expect(arm?.arches).toEqual(['aarch64', 'arm']);
    expect(rulesFor(arm, 'set_tls')).toHaveLength(1);
    expect(rulesFor(arm, 'arch_prctl')).toEqual([]);
    expect(rulesFor(arm, 'clone')[0]?.args[0]?.index).toBe(0);
  });
});

describe('which filter a service gets', () => {
  const file: SeccompProfile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };

  test('default; none when unconfined; none when privileged unless a file is named (Docker\'s rule)', () => {
    expect(serviceSeccomp({ seccomp: { mode: 'default' }, privileged: false }, DEFAULT_CAPABILITIES, amd64)?.defaultAction).toBe('errno:1');
    expect(serviceSeccomp({}, DEFAULT_CAPABILITIES, amd64)?.defaultAction).toBe('errno:1');
    expect(serviceSeccomp({ seccomp: { mode: 'unconfined' }, privileged: false }, DEFAULT_CAPABILITIES, amd64)).toBeUndefined();
    expect(serviceSeccomp({ seccomp: { mode: 'default' }, privileged: true }, DEFAULT_CAPABILITIES, amd64)).toBeUndefined();
    const custom = serviceSeccomp({ seccomp: { mode: 'file', path: '/p.json', profile: file }, privileged: true }, DEFAULT_CAPABILITIES, amd64);
    expect(custom).toEqual({
      defaultAction: 'allow',
      arches: [],
      flags: [],
      rules: [
        { name: 'mkdir', action: 'errno:1', args: [] },
        { name: 'mkdirat', action: 'errno:1', args: [] },
      ],
    });
  });

  test('services with the same profile and capabilities share one filter; other capabilities, host or profile make another', () => {
    const plain = serviceSeccomp({}, DEFAULT_CAPABILITIES, amd64);
    expect(serviceSeccomp({ seccomp: { mode: 'default' }, privileged: false }, [...DEFAULT_CAPABILITIES], amd64)).toBe(plain);
    const admin = serviceSeccomp({}, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], amd64);
    expect(admin).not.toBe(plain);
    expect(admin!.rules.length).toBeGreaterThan(plain!.rules.length);
    expect(serviceSeccomp({}, DEFAULT_CAPABILITIES, { ...amd64, kernel: [4, 4] })).not.toBe(plain);
    const custom = serviceSeccomp({ seccomp: { mode: 'file', path: '/p.json', profile: file } }, DEFAULT_CAPABILITIES, amd64);
    expect(serviceSeccomp({ seccomp: { mode: 'file', path: '/p.json', profile: file } }, DEFAULT_CAPABILITIES, amd64)).toBe(custom);
    expect(serviceSeccomp({ seccomp: { mode: 'file', path: '/p.json', profile: { ...file } } }, DEFAULT_CAPABILITIES, amd64)).not.toBe(custom);
  });

  test('an empty profile filters nothing (Docker runs it unconfined)', () => {
    expect(resolveSeccomp({}, DEFAULT_CAPABILITIES, amd64)).toBeUndefined();
  });

  test('the old single `name`, the deprecated `architectures` list, flags and actions are carried over', () => {
    const f = resolveSeccomp(
      {
        defaultAction: 'SCMP_ACT_KILL',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC'],
        syscalls: [
          { name: 'read', action: 'SCMP_ACT_ALLOW' },
          { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
          { names: ['personality'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 0xff, valueTwo: 8, op: 'SCMP_CMP_MASKED_EQ' }] },
        ],
      },
      [],
      amd64,
    );
    expect(f).toEqual({
      defaultAction: 'kill_thread',
      arches: ['x86_64', 'x86'],
      flags: ['log'],
      rules: [
        { name: 'read', action: 'allow', args: [] },
        { name: 'ptrace', action: 'trace:5', args: [] },
        { name: 'personality', action: 'log', args: [{ index: 0, op: 'masked_eq', value: 255, valueTwo: 8 }] },
      ],
    });
  });
});

describe('request pairs', () => {
  test('none without a filter; else the default, arches, flags and one rule per syscall, through the request encoding', () => {
    expect(seccompRequestPairs(undefined)).toEqual([]);
    const pairs = seccompRequestPairs({
      defaultAction: 'errno:1',
      arches: ['x86_64', 'x86'],
      flags: ['log'],
      rules: [
        { name: 'read', action: 'allow', args: [] },
        { name: 'clone', action: 'allow', args: [{ index: 0, op: 'masked_eq', value: 0x7e020000, valueTwo: 0 }] },
      ],
    });
    expect(decodeLaunchRequest(encodeLaunchRequest(pairs))).toEqual([
      ['seccomp_default', 'errno:1'],
      ['seccomp_arch', 'x86_64'],
      ['seccomp_arch', 'x86'],
      ['seccomp_flag', 'log'],
      ['seccomp_rule', 'allow\tread'],
      ['seccomp_rule', 'allow\tclone\t0,masked_eq,2114060288,0'],
    ]);
  });
});

// A seccomp profile (Docker's format) resolved for one service on this host, as Docker's
// setupSeccomp does: the native architecture and its sub-architectures from archMap, and only
// the syscall entries whose includes hold (every cap in the service's set, the arch among
// `arches`, the kernel at least `minKernel`) and whose excludes do not (any cap held, the arch,
// the kernel). The result is a flat list of rules, one per syscall name, that native/build/seccomp
// compiles to BPF (compile.ts), or that the launcher and the exec helper hand to libseccomp
// themselves when it cannot (native/common/seccomp.c).
import { arch as hostArch, release } from 'node:os';
import type { SeccompProfile } from '../../spec/seccomp-profile.js';

/** The host a profile is resolved for. */
export interface SeccompHost {
  /** Docker's native name of the architecture: `amd64`, `arm64`, ... */
  readonly arch: string;
  /** Kernel version as [major, minor]. */
  readonly kernel: readonly [number, number];
}

/** One argument comparison of a rule; `value` is the mask of SCMP_CMP_MASKED_EQ, `valueTwo` what it must equal. */
export interface SeccompArgument {
  readonly index: number;
  readonly op: 'ne' | 'lt' | 'le' | 'eq' | 'ge' | 'gt' | 'masked_eq';
  readonly value: number;
  readonly valueTwo: number;
}

/** One rule: a syscall, what happens to it, and the argument tests that must all hold. */
export interface SeccompRule {
  readonly name: string;
  /** `allow`, `errno:N`, `trace:N`, `kill_process`, `kill_thread`, `trap`, `log`. */
  readonly action: string;
  readonly args: readonly SeccompArgument[];
}

/** What the native side loads: the default action, the architectures, flags, and the rules. */
export interface SeccompFilter {
  readonly defaultAction: string;
  /** libseccomp's names (`x86_64`, `x86`, `x32`, `aarch64`, `arm`...); the native one first. */
  readonly arches: readonly string[];
  /** `log`, `spec_allow`. */
  readonly flags: readonly string[];
  readonly rules: readonly SeccompRule[];
}

/** Docker's native arch names by Node's `os.arch()`. */
const NATIVE_BY_NODE: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: 'x86',
  s390x: 's390x',
  riscv64: 'riscv64',
  ppc64: 'ppc64le',
  loong64: 'loong64',
  mips64el: 'mipsel64',
};

/** The runtime-spec arch of a Docker native arch name. */
const SPEC_ARCH_BY_NATIVE: Readonly<Record<string, string>> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

/** This machine: its architecture and kernel version. */
export function currentSeccompHost(): SeccompHost {
  const [major = 0, minor = 0] = release().split(/[.-]/).map((n) => Number.parseInt(n, 10));
  return { arch: NATIVE_BY_NODE[hostArch()] ?? hostArch(), kernel: [major, minor] };
}

/** `SCMP_ARCH_X86_64` → `x86_64` (libseccomp's seccomp_arch_resolve_name spelling). */
function libseccompArch(specArch: string): string {
  return specArch.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** True when the kernel is at least `version` ("MAJOR.MINOR"). */
function kernelAtLeast(host: SeccompHost, version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return host.kernel[0] > major || (host.kernel[0] === major && host.kernel[1] >= minor);
}

/** The action as the request spells it; ERRNO and TRACE carry their errno (EPERM unless given). */
function actionOf(action: string, errno: number | null | undefined): string {
  const name = action.replace(/^SCMP_ACT_/, '').toLowerCase();
  if (name === 'errno' || name === 'trace') return `${name}:${errno ?? 1}`;
  return name === 'kill' ? 'kill_thread' : name;
}

/**
 * The profile for a service holding `caps` on `host`; undefined when the profile filters
 * nothing (no defaultAction and no syscalls: Docker runs such a container unconfined).
 */
export function resolveSeccomp(profile: SeccompProfile, caps: readonly string[], host: SeccompHost = currentSeccompHost()): SeccompFilter | undefined {
  if (profile.defaultAction === undefined && !profile.syscalls?.length) return undefined;
  const held = new Set(caps);
  let arches: string[] = (profile.architectures ?? []).map(libseccompArch);
  const native = SPEC_ARCH_BY_NATIVE[host.arch];
  const entry = profile.archMap?.find((a) => a.architecture === native);
  if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])].map(libseccompArch);
  const rules: SeccompRule[] = [];
  for (const call of profile.syscalls ?? []) {
    const ex = call.excludes;
    if (ex?.arches?.includes(host.arch)) continue;
    if (ex?.caps?.some((c) => held.has(c))) continue;
    if (ex?.minKernel && kernelAtLeast(host, ex.minKernel)) continue;
    const inc = call.includes;
    if (inc?.arches?.length && !inc.arches.includes(host.arch)) continue;
    if (inc?.caps?.some((c) => !held.has(c))) continue;
    if (inc?.minKernel && !kernelAtLeast(host, inc.minKernel)) continue;
    const action = actionOf(call.action, call.errnoRet);
    const args = (call.args ?? []).map((a): SeccompArgument => ({
      index: a.index,
      op: a.op.replace(/^SCMP_CMP_/, '').toLowerCase() as SeccompArgument['op'],
      value: a.value,
      valueTwo: a.valueTwo ?? 0,
    }));
    for (const name of call.names?.length ? call.names : [call.name ?? '']) rules.push({ name, action, args });
  }
  const flags = (profile.flags ?? []).flatMap((f) => (f === 'SECCOMP_FILTER_FLAG_LOG' ? ['log'] : f === 'SECCOMP_FILTER_FLAG_SPEC_ALLOW' ? ['spec_allow'] : []));
  return { defaultAction: actionOf(profile.defaultAction ?? 'SCMP_ACT_ALLOW', profile.defaultErrnoRet), arches, flags, rules };
}

/** The filter as launch/exec request pairs (native/common/seccomp.c reads them). */
export function seccompRequestPairs(filter: SeccompFilter | undefined): [string, string][] {
  if (filter === undefined) return [];
  const pairs: [string, string][] = [['seccomp_default', filter.defaultAction]];
  for (const arch of filter.arches) pairs.push(['seccomp_arch', arch]);
  for (const flag of filter.flags) pairs.push(['seccomp_flag', flag]);
  for (const rule of filter.rules) {
    const args = rule.args.map((a) => `\t${a.index},${a.op},${a.value},${a.valueTwo}`).join('');
    pairs.push(['seccomp_rule', `${rule.action}\t${rule.name}${args}`]);
  }
  return pairs;
}

// The seccomp profile format Docker reads for `security_opt: [seccomp=FILE]` (and its built-in
// profile is written in): defaultAction, defaultErrnoRet, archMap or architectures, flags, and
// syscalls[] of {names, action, errnoRet, args[{index, value, valueTwo, op}], includes, excludes}
// where includes/excludes are {caps, arches, minKernel}. Parsed here, purely, so that a user's
// file and stack's own default (src/runtime/seccomp/default.ts) go through the same checks;
// src/runtime/seccomp/resolve.ts turns a profile into the rules for one service.
import { z } from '../zod.js';

/** Actions libseccomp knows, as Docker spells them. SCMP_ACT_NOTIFY is refused (no agent). */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

/** Argument comparisons (libseccomp's scmp_compare). */
export const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;

/** Filter flags of the runtime spec; TSYNC changes nothing for a single-threaded exec. */
export const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] as const;

/** Architectures as the runtime spec names them (SCMP_ARCH_ + libseccomp's name, upper case). */
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
] as const;

const listOf = <T extends z.ZodType>(item: T) => z.array(item).nullish();
// uint64 in JSON: anything past 2^53 has already lost its low bits in JSON.parse.
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const condition = z.object({
  caps: listOf(z.string()),
  arches: listOf(z.string()),
  minKernel: z.string().regex(/^\d+\.\d+$/, 'a kernel version as "MAJOR.MINOR", e.g. "5.8"').nullish(),
});

const argument = z.object({
  index: z.number().int().min(0).max(5),
  value: uint,
  valueTwo: uint.nullish(),
  op: z.enum(SECCOMP_OPERATORS),
});

const syscall = z.object({
  name: z.string().optional(),
  names: listOf(z.string()),
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: z.number().int().min(0).max(4095).nullish(),
  args: listOf(argument),
  comment: z.string().nullish(),
  includes: condition.nullish(),
  excludes: condition.nullish(),
});

const profileSchema = z.object({
  defaultAction: z.enum(SECCOMP_ACTIONS).optional(),
  defaultErrnoRet: z.number().int().min(0).max(4095).nullish(),
  architectures: listOf(z.enum(SECCOMP_ARCHES)),
  archMap: listOf(z.object({ architecture: z.enum(SECCOMP_ARCHES), subArchitectures: listOf(z.enum(SECCOMP_ARCHES)) })),
  flags: listOf(z.enum(SECCOMP_FLAGS)),
  listenerPath: z.string().nullish(),
  listenerMetadata: z.string().nullish(),
  syscalls: listOf(syscall),
});

/** A profile as written (Docker's JSON format); unknown keys are dropped, as Docker's decoder does. */
export type SeccompProfile = z.infer<typeof profileSchema>;

/** One syscall entry of a profile. */
export type SeccompSyscall = z.infer<typeof syscall>;

/** The result of reading a profile: the profile, or why not (a key path and what was wrong). */
export type ParsedProfile = { readonly ok: true; readonly profile: SeccompProfile } | { readonly ok: false; readonly reason: string };

/** `syscalls[3].args[0].op` from a zod issue path. */
function where(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || 'the profile';
}

/** Checks a profile object: the schema, then what Docker refuses besides (name and names, ...). */
export function checkSeccompProfile(value: unknown): ParsedProfile {
  const parsed = profileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) return { ok: false, reason: 'not a seccomp profile' };
    const text = issue.code === 'invalid_value' ? `expected one of ${issue.values.map(String).join(', ')}` : issue.message;
    return { ok: false, reason: `${where(issue.path)}: ${text}` };
  }
  const profile = parsed.data;
  if (profile.architectures?.length && profile.archMap?.length) {
    return { ok: false, reason: "both 'architectures' and 'archMap' are given; use one of them" };
  }
  if (profile.defaultAction === undefined && profile.syscalls?.length) {
    return { ok: false, reason: 'defaultAction: missing (what happens to a syscall no rule names)' };
  }
  if (profile.listenerPath || profile.defaultAction === 'SCMP_ACT_NOTIFY') {
    return { ok: false, reason: 'SCMP_ACT_NOTIFY and listenerPath need a seccomp agent, which stack does not run' };
  }
  for (const [i, call] of (profile.syscalls ?? []).entries()) {
    if (call.name !== undefined && call.names?.length) return { ok: false, reason: `syscalls[${i}]: both 'name' and 'names' are given; use 'names'` };
    if (call.name === undefined && !call.names?.length) return { ok: false, reason: `syscalls[${i}]: names: no syscall named` };
    if (call.action === 'SCMP_ACT_NOTIFY') return { ok: false, reason: `syscalls[${i}].action: SCMP_ACT_NOTIFY needs a seccomp agent, which stack does not run` };
  }
  return { ok: true, profile };
}

/** Parses the text of a profile file (JSON, Docker's format). */
export function parseSeccompProfile(text: string): ParsedProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  return checkSeccompProfile(value);
}

// The cgroup v2 device filter: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE built from
// the same rules as v1's devices.allow lines. The kernel runs it on every open and mknod of a
// device node by a process of the group, with a struct bpf_cgroup_dev_ctx { u32 access_type
// (access << 16 | type); u32 major; u32 minor; }, and refuses the access (EPERM) when it
// returns 0. The program checks the rules in order and returns 1 at the first that covers the
// access; past the last it returns 0 (deny by default, as v1's `devices.deny a`). Checked on
// the kernel by test/integration/cgroup/devices-bpf.test.ts.
import type { DeviceRule } from './devices.js';

/** bpf_cgroup_dev_ctx's type values. */
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
/** bpf_cgroup_dev_ctx's access bits. */
const ACCESS_BITS: Readonly<Record<string, number>> = { m: 1, r: 2, w: 4 };

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K = 0x54; // dst &= imm (32-bit)
const ALU32_RSH_K = 0x74; // dst >>= imm (32-bit)
const ALU32_MOV_X = 0xbc; // dst = src (32-bit)
const ALU64_MOV_K = 0xb7; // dst = imm
const JMP_JNE_K = 0x55; // if dst != imm: pc += off
const JMP_EXIT = 0x95;

/** One instruction: struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; }. */
interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  off: number;
  readonly imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** The instructions of one rule: jumps to the next rule on a mismatch, returns 1 on a match. */
function ruleBlock(rule: DeviceRule): Insn[] {
  const block: Insn[] = [];
  const SKIP = -1; // patched to the block's end below
  if (rule.type !== 'a') block.push(insn(JMP_JNE_K, 2, 0, SKIP, rule.type === 'b' ? DEV_BLOCK : DEV_CHAR));
  const allowed = [...rule.access].reduce((bits, a) => bits | (ACCESS_BITS[a] ?? 0), 0);
  if (allowed !== 7) {
    // The access asked must lie within the rule's: (asked & ~allowed) == 0.
    block.push(insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, ~allowed), insn(JMP_JNE_K, 1, 0, SKIP, 0));
  }
  if (rule.major !== '*') block.push(insn(JMP_JNE_K, 4, 0, SKIP, rule.major));
  if (rule.minor !== '*') block.push(insn(JMP_JNE_K, 5, 0, SKIP, rule.minor));
  block.push(insn(ALU64_MOV_K, 0, 0, 0, 1), insn(JMP_EXIT, 0, 0, 0, 0));
  block.forEach((ins, i) => {
    if (ins.off === SKIP) ins.off = block.length - i - 1;
  });
  return block;
}

/** The program for `rules`, as the bytes BPF_PROG_LOAD takes (8 per instruction). */
export function deviceProgram(rules: readonly DeviceRule[]): Buffer {
  const prologue = [
    insn(LDX_MEM_W, 2, 1, 0, 0), // r2 = access_type
    insn(ALU32_AND_K, 2, 0, 0, 0xffff), // r2 = type
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU32_RSH_K, 3, 0, 0, 16), // r3 = access
    insn(LDX_MEM_W, 4, 1, 4, 0), // r4 = major
    insn(LDX_MEM_W, 5, 1, 8, 0), // r5 = minor
  ];
  // A rule that matches every access (`a *:* rwm`) ends the program: the verifier refuses
  // instructions no path reaches, so nothing follows it, not even the deny.
  const blocks: Insn[] = [];
  let open = true;
  for (const rule of rules) {
    const block = ruleBlock(rule);
    blocks.push(...block);
    if (block.length === 2) {
      open = false;
      break;
    }
  }
  const deny = open ? [insn(ALU64_MOV_K, 0, 0, 0, 0), insn(JMP_EXIT, 0, 0, 0, 0)] : [];
  const all = [...prologue, ...blocks, ...deny];
  const out = Buffer.alloc(all.length * 8);
  all.forEach((ins, i) => {
    out.writeUInt8(ins.code, i * 8);
    out.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    out.writeInt16LE(ins.off, i * 8 + 2);
    out.writeInt32LE(ins.imm, i * 8 + 4);
  });
  return out;
}

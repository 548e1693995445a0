// bpf(2) for the cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach
// it to a cgroup directory (BPF_F_ALLOW_MULTI, as runc and crun do) and detach the programs it
// replaces, so a group carries exactly one filter of stack's. Each command's attribute union is
// laid out here for koffi (sys/koffi.ts; this file loads the same libc as sys/libc.ts for the one
// variadic syscall(2) it needs). A program lives while attached: removing the cgroup
// directory releases it.
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import type * as Koffi from 'koffi';
import { KernelError, UserError } from '../../errors.js';
import { errnoName } from '../../sys/errno.js';
import { loadKoffi } from '../../sys/koffi.js';

/** bpf(2) commands, program and attach types, flags (linux/bpf.h). */
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
/** syscall numbers of bpf(2). */
const SYS_BPF: Readonly<Record<string, number>> = { x64: 321, arm64: 280 };
/** The program's name as bpftool shows it (at most 15 characters). */
const PROGRAM_NAME = 'stack_devices';

interface Bpf {
  koffi: typeof Koffi;
  load: (nr: number, cmd: number, attr: object, size: number) => number;
  attach: (nr: number, cmd: number, attr: object, size: number) => number;
  query: (nr: number, cmd: number, attr: object, size: number) => number;
  byId: (nr: number, cmd: number, attr: object, size: number) => number;
  sizes: { load: number; attach: number; query: number; byId: number };
}

let bound: Bpf | undefined;

function bpf(): Bpf {
  if (bound) return bound;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  const Load = koffi.struct('stack_bpf_prog_load', {
    prog_type: 'uint32', insn_cnt: 'uint32', insns: 'void *', license: 'const char *', log_level: 'uint32', log_size: 'uint32',
    log_buf: 'void *', kern_version: 'uint32', prog_flags: 'uint32', prog_name: koffi.array('char', 16, 'String'), prog_ifindex: 'uint32',
    expected_attach_type: 'uint32',
  });
  const Attach = koffi.struct('stack_bpf_prog_attach', { target_fd: 'uint32', attach_bpf_fd: 'uint32', attach_type: 'uint32', attach_flags: 'uint32', replace_bpf_fd: 'uint32' });
  const Query = koffi.struct('stack_bpf_prog_query', {
    target_fd: 'uint32', attach_type: 'uint32', query_flags: 'uint32', attach_flags: 'uint32', prog_ids: 'void *', prog_cnt: 'uint32',
  });
  const ById = koffi.struct('stack_bpf_get_fd_by_id', { prog_id: 'uint32', next_id: 'uint32', open_flags: 'uint32' });
  const fn = (type: string) => c.func(`long syscall(long nr, int cmd, _Inout_ ${type} *attr, uint32 size)`) as unknown as Bpf['load'];
  bound = {
    koffi,
    load: fn('stack_bpf_prog_load'),
    attach: fn('stack_bpf_prog_attach'),
    query: fn('stack_bpf_prog_query'),
    byId: fn('stack_bpf_get_fd_by_id'),
    sizes: { load: koffi.sizeof(Load), attach: koffi.sizeof(Attach), query: koffi.sizeof(Query), byId: koffi.sizeof(ById) },
  };
  return bound;
}

function sysBpf(): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) {
    throw new UserError(
      'BPF_ARCH',
      `cannot filter devices on cgroup v2 on ${process.arch}: stack calls bpf(2) only on ${Object.keys(SYS_BPF).join(' and ')}`,
      'run stack on x64 or arm64, or on a host whose cgroup v1 `devices` controller is mounted (stack uses it instead of bpf there)',
    );
  }
  return nr;
}

function check(ret: number, what: string, detail = ''): number {
  if (ret >= 0) return ret;
  const errno = bpf().koffi.errno();
  throw new KernelError(`bpf ${what}${detail}`, errnoName(errno), errno);
}

/** Size of the verifier's log asked for when a load fails. */
export const VERIFIER_LOG_BYTES = 64 * 1024;

/**
 * Loads a device program (deviceProgram's bytes); returns its fd. Loaded without a verifier log
 * first: before Linux 6.4 a log that fills up fails the load (ENOSPC), which a long `devices:`
 * list would. Only a load that fails is tried again with a log (as runc does), and the log's
 * end is in the error, with the first attempt's errno.
 */
export function loadDeviceProgram(insns: Buffer): number {
  const b = bpf();
  const load = (log: Buffer | null) =>
    b.load(sysBpf(), BPF_PROG_LOAD, {
      prog_type: BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt: insns.length / 8, insns, license: 'MIT', log_level: log ? 1 : 0,
      log_size: log ? log.length : 0, log_buf: log, kern_version: 0, prog_flags: 0, prog_name: PROGRAM_NAME, prog_ifindex: 0,
      expected_attach_type: BPF_CGROUP_DEVICE,
    }, b.sizes.load);
  const fd = load(null);
  if (fd >= 0) return fd;
  const errno = b.koffi.errno();
  const log = Buffer.alloc(VERIFIER_LOG_BYTES);
  const retry = load(log);
  if (retry >= 0) return retry; // a passing failure (EAGAIN, a signal): the second load worked
  const verifier = log.toString('utf8').replace(/\0.*$/s, '').trim();
  const detail = verifier ? `: ${verifier.split('\n').slice(-3).join(' / ')}` : '';
  throw new KernelError(`bpf load device program${detail}`, errnoName(errno), errno);
}

/** The ids of the device programs attached to the cgroup `dirFd`. */
function attachedPrograms(dirFd: number): number[] {
  const b = bpf();
  const ids = Buffer.alloc(4 * 64);
  const attr = { target_fd: dirFd, attach_type: BPF_CGROUP_DEVICE, query_flags: 0, attach_flags: 0, prog_ids: ids, prog_cnt: 64 };
  check(b.query(sysBpf(), BPF_PROG_QUERY, attr, b.sizes.query), 'query device programs');
  return Array.from({ length: attr.prog_cnt }, (_, i) => ids.readUInt32LE(i * 4));
}

/** Detaches program `id` from the cgroup `dirFd`; one already gone is fine. */
function detach(dirFd: number, id: number): void {
  const b = bpf();
  const byId = { prog_id: id, next_id: 0, open_flags: 0 };
  const progFd = b.byId(sysBpf(), BPF_PROG_GET_FD_BY_ID, byId, b.sizes.byId);
  if (progFd < 0) {
    if (b.koffi.errno() === 2) return; // ENOENT: unloaded meanwhile
    check(progFd, `open program ${id}`);
  }
  try {
    const attr = { target_fd: dirFd, attach_bpf_fd: progFd, attach_type: BPF_CGROUP_DEVICE, attach_flags: 0, replace_bpf_fd: 0 };
    const ret = b.attach(sysBpf(), BPF_PROG_DETACH, attr, b.sizes.attach);
    if (ret < 0 && b.koffi.errno() !== 2) check(ret, `detach program ${id}`);
  } finally {
    closeSync(progFd);
  }
}

/**
 * Makes `program` (deviceProgram's bytes) the device filter of the cgroup v2 directory `dir`:
 * attaches it, then detaches the device programs that were there before (a re-create with
 * other rules), so the new rules alone decide.
 */
export function setDeviceProgram(dir: string, program: Buffer): void {
  const dirFd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    const before = attachedPrograms(dirFd);
    const progFd = loadDeviceProgram(program);
    try {
      const b = bpf();
      const attr = { target_fd: dirFd, attach_bpf_fd: progFd, attach_type: BPF_CGROUP_DEVICE, attach_flags: BPF_F_ALLOW_MULTI, replace_bpf_fd: 0 };
      check(b.attach(sysBpf(), BPF_PROG_ATTACH, attr, b.sizes.attach), `attach device program to ${dir}`);
    } finally {
      closeSync(progFd);
    }
    for (const id of before) detach(dirFd, id);
  } finally {
    closeSync(dirFd);
  }
}

/** How many device programs are attached to the cgroup v2 directory `dir` (tests, observation). */
export function deviceProgramCount(dir: string): number {
  const dirFd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    return attachedPrograms(dirFd).length;
  } finally {
    closeSync(dirFd);
  }
}

// Reading and writing cgroup interface files through the CgroupFs port, with failures turned
// into KernelErrors that carry the whole call (`write /sys/fs/cgroup/pids/stack/p/web/pids.max
// "32": EINVAL`), plus the parsers for the two formats those files use.
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { KernelError, UserError } from '../../errors.js';
import { errorCode, type CgroupFs } from './fs.js';

/** Wraps a failed file-system call into a KernelError naming the call; other errors pass through. */
export function kernelError(call: string, e: unknown): unknown {
  const code = errorCode(e);
  if (code === undefined) return e;
  const errnoValue = (osConstants.errno as Record<string, number>)[code] ?? 0;
  return new KernelError(call, code, errnoValue, { cause: e });
}

/** Writes one value into an interface file. */
export async function writeValue(fs: CgroupFs, path: string, value: string): Promise<void> {
  try {
    await fs.writeFile(path, value);
  } catch (e) {
    throw kernelError(`write ${path} ${JSON.stringify(value)}`, e);
  }
}

/**
 * Writes a group's cpuset.cpus. The kernel refuses cpu numbers past the host's (ERANGE, EOVERFLOW past 2^32) and
 * cpus its parent group does not have (EINVAL): that is the spec's `cpuset`, told with the cpus
 * the parent has (`parentFile`: v1's cpuset.cpus, v2's cpuset.cpus.effective, one level up), as
 * Docker tells it ("requested 0-63, available: 0-1"). An EINVAL for cpus the parent has (a
 * sibling's cpu_exclusive) is left as the kernel said it.
 */
export async function writeCpuset(fs: CgroupFs, file: string, value: string, parentFile: string): Promise<void> {
  try {
    await writeValue(fs, file, value);
  } catch (e) {
    if (!(e instanceof KernelError && (e.errno === 'EINVAL' || e.errno === 'ERANGE' || e.errno === 'EOVERFLOW'))) throw e;
    const available = await readValue(fs, `${dirname(dirname(file))}/${parentFile}`).catch(() => undefined);
    const wanted = cpuList(value);
    const has = available === undefined ? undefined : cpuList(available);
    const notGiven = e.errno !== 'EINVAL' || (wanted !== undefined && has !== undefined && [...wanted].some((c) => !has.has(c)));
    if (!notGiven) throw e;
    throw new UserError(
      'CPUSET_UNAVAILABLE',
      `cpuset ${value}: not cpus this host gives its services${available === undefined ? '' : ` (it gives ${available === '' ? 'none' : available})`}`,
      `name cpus among ${available !== undefined && available !== '' ? available : "the host's (/sys/devices/system/cpu/online)"} in \`cpuset:\`, or remove it`,
      { cause: e },
    );
  }
}

/** The cpus of a cpu list (`0-3,5`); undefined when it is not one (a range backwards, a huge one). */
export function cpuList(text: string): Set<number> | undefined {
  const cpus = new Set<number>();
  if (text.trim() === '') return cpus;
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo || hi - lo > 65536) return undefined;
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return cpus;
}

/** Writes each value with a write(2) of its own through one open (fs.writeEach); a failure names the value the kernel refused. */
export async function writeValues(fs: CgroupFs, path: string, values: readonly string[]): Promise<void> {
  try {
    await fs.writeEach(path, values);
  } catch (e) {
    const value = (e as { value?: unknown }).value;
    throw kernelError(`write ${path}${typeof value === 'string' ? ` ${JSON.stringify(value)}` : ''}`, e);
  }
}

/** Reads an interface file, trimmed. */
export async function readValue(fs: CgroupFs, path: string): Promise<string> {
  try {
    return (await fs.readFile(path)).trim();
  } catch (e) {
    throw kernelError(`read ${path}`, e);
  }
}

/** Reads a flat-keyed file (`memory.events`, `memory.oom_control`, `cpu.stat`). */
export async function readFlatKeyed(fs: CgroupFs, path: string): Promise<Map<string, number>> {
  return parseFlatKeyed(await readValue(fs, path));
}

/** Reads the pids of a `cgroup.procs` file; a group that is gone has none. */
export async function readProcs(fs: CgroupFs, path: string): Promise<number[]> {
  try {
    return parseProcs(await fs.readFile(path));
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return [];
    throw kernelError(`read ${path}`, e);
  }
}

/** Parses `key value` lines into numbers (non-numeric values are skipped). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** Parses a `cgroup.procs` / `tasks` file: one pid per line. */
export function parseProcs(text: string): number[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/** Runs a write, treating a group that is gone (ENOENT) as done. */
export async function ignoreGone(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (e) {
    if (!(e instanceof KernelError && e.errno === 'ENOENT')) throw e;
  }
}

/** Reads a value, or `fallback` when the group is gone. */
export async function readOr(fs: CgroupFs, path: string, fallback: string): Promise<string> {
  try {
    return await readValue(fs, path);
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'ENOENT') return fallback;
    throw e;
  }
}

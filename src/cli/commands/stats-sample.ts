// One sample of a running service's usage for `stack stats`, read from the kernel: memory,
// CPU time and pids from its cgroup folders (cgroup v1, one folder per controller, or v2, one
// folder: each figure is read from whichever recorded folder has its file), network I/O from
// /proc/<pid>/net/dev of its main process (its netns; `lo` left out, as Docker does) and block
// I/O from v2's io.stat, or, where the service has no io/blkio group of its own (v1 here, or a
// v2 tree without the io controller), the sum of /proc/<pid>/io over its live processes.
import { readFile } from '../../sys/fs-async.js';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { cgroupPids } from './service-cgroups.js';

/** What one sample holds (bytes, nanoseconds, counts). */
export interface UsageSample {
  /** Memory in use as Docker counts it: usage minus inactive file cache. */
  readonly memoryBytes: number;
  /** The memory limit, or the host's memory when the service has none. */
  readonly memoryLimitBytes: number;
  /** CPU time used by the group since it was made. */
  readonly cpuNs: number;
  readonly pids: number;
  readonly netRxBytes: number;
  readonly netTxBytes: number;
  readonly blockReadBytes: number;
  readonly blockWriteBytes: number;
  /** process.hrtime.bigint() when it was read, in ns. */
  readonly atNs: bigint;
}

/** A v1 memory.limit_in_bytes at or above this is "no limit" (the kernel writes PAGE_COUNTER_MAX pages). */
const V1_UNLIMITED = 2 ** 60;

/** `key value` lines (memory.stat, cpu.stat) as a map. */
export function parseKeyed(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) map.set(key, Number(value));
  }
  return map;
}

/** A limit file's value (v2 `max`, or v1's huge number, is no limit): undefined when there is none. */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || !/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= V1_UNLIMITED ? undefined : n;
}

/** Memory in use as `docker stats` shows it: usage minus inactive file pages (v1 total_inactive_file, v2 inactive_file). */
export function memoryInUse(usage: number, stat: Map<string, number>): number {
  const inactive = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/** v2 io.stat (`8:0 rbytes=1 wbytes=2 rios=...` per device): bytes read and written, summed. */
export function parseIoStat(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split('=');
      if (k === 'rbytes') read += Number(v);
      else if (k === 'wbytes') write += Number(v);
    }
  }
  return { read, write };
}

/** v1 blkio.throttle.io_service_bytes(_recursive) (`8:0 Read 4096` per device and op): Read and Write summed. */
export function parseBlkioServiceBytes(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [, op, value] = line.trim().split(/\s+/);
    if (op === 'Read') read += Number(value);
    else if (op === 'Write') write += Number(value);
  }
  return { read, write };
}

/** /proc/<pid>/io: read_bytes and write_bytes (what reached the block layer). */
export function parseProcIo(text: string): { read: number; write: number } {
  const map = new Map(text.split('\n').map((l) => l.split(':').map((s) => s.trim()) as [string, string]));
  return { read: Number(map.get('read_bytes') ?? 0), write: Number(map.get('write_bytes') ?? 0) };
}

/** /proc/<pid>/net/dev: bytes received and sent over every interface but `lo`. */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rx += fields[0] ?? 0;
    tx += fields[8] ?? 0;
  }
  return { rx, tx };
}

/** The first of `dirs` holding `file`, read; undefined when none has it. */
async function readIn(dirs: readonly string[], file: string): Promise<string | undefined> {
  for (const dir of dirs) {
    try {
      return await readFile(join(dir, file), 'utf8');
    } catch {
      // not this controller's folder (v1), or a controller v2 did not enable
    }
  }
  return undefined;
}

/** One sample of a service with main process `pid` and cgroup folders `cgroups`. */
export async function sampleService(pid: number, cgroups: readonly string[]): Promise<UsageSample> {
  const [memStatText, v2Current, v1Usage, v2Max, v1Limit, cpuStat, cpuacct, pidsText, netDev] = await Promise.all([
    readIn(cgroups, 'memory.stat'),
    readIn(cgroups, 'memory.current'),
    readIn(cgroups, 'memory.usage_in_bytes'),
    readIn(cgroups, 'memory.max'),
    readIn(cgroups, 'memory.limit_in_bytes'),
    readIn(cgroups, 'cpu.stat'),
    readIn(cgroups, 'cpuacct.usage'),
    readIn(cgroups, 'pids.current'),
    readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => ''),
  ]);
  const usage = Number(v2Current ?? v1Usage ?? 0);
  const limit = parseLimit(v2Max ?? v1Limit ?? 'max');
  const host = totalmem();
  // cpu.stat's usage_usec is v2's; v1's cpu.stat has only throttling, its time is cpuacct.usage.
  const usageUsec = cpuStat !== undefined ? parseKeyed(cpuStat).get('usage_usec') : undefined;
  const cpuNs = usageUsec !== undefined ? usageUsec * 1000 : Number(cpuacct ?? 0);
  const net = parseNetDev(netDev);
  return {
    memoryBytes: memoryInUse(usage, parseKeyed(memStatText ?? '')),
    memoryLimitBytes: limit === undefined || limit > host ? host : limit,
    cpuNs,
    pids: Number(pidsText ?? 0),
    netRxBytes: net.rx,
    netTxBytes: net.tx,
    ...(await blockIo(cgroups)),
    atNs: process.hrtime.bigint(),
  };
}

/** Block I/O of the group: its io.stat or blkio file, else the sum over its live processes' /proc/<pid>/io. */
async function blockIo(cgroups: readonly string[]): Promise<{ blockReadBytes: number; blockWriteBytes: number }> {
  const ioStat = await readIn(cgroups, 'io.stat');
  const blkio = ioStat === undefined ? await readIn(cgroups, 'blkio.throttle.io_service_bytes_recursive') : undefined;
  let total: { read: number; write: number };
  if (ioStat !== undefined) total = parseIoStat(ioStat);
  else if (blkio !== undefined) total = parseBlkioServiceBytes(blkio);
  else {
    total = { read: 0, write: 0 };
    for (const p of await cgroupPids(cgroups)) {
      const io = parseProcIo(await readFile(`/proc/${p}/io`, 'utf8').catch(() => ''));
      total.read += io.read;
      total.write += io.write;
    }
  }
  return { blockReadBytes: total.read, blockWriteBytes: total.write };
}

/** CPU % between two samples as Docker shows it: CPU time over wall time, 100 % per busy core. */
export function cpuPercent(before: UsageSample, after: UsageSample): number {
  const wall = Number(after.atNs - before.atNs);
  const used = after.cpuNs - before.cpuNs;
  return wall > 0 && used > 0 ? (used / wall) * 100 : 0;
}

// The readers behind `stack stats` on kernel text (cgroup v2 and v1 files, /proc net/dev and io)
// and docker's ways of writing the figures. The v2 files are fixtures: this host is v1.
import { describe, expect, it } from 'vitest';
import { cpuPercent, memoryInUse, parseBlkioServiceBytes, parseIoStat, parseKeyed, parseLimit, parseNetDev, parseProcIo, type UsageSample } from '../../../src/cli/commands/stats-sample.js';
import { binarySize, decimalSize, parseSize, percent } from '../../../src/cli/render/stats-format.js';
import { statsRow } from '../../../src/cli/commands/stats.js';

const V2_MEMORY_STAT = `anon 10485760
file 4194304
kernel 270336
shmem 0
active_anon 10448896
inactive_anon 0
active_file 1048576
inactive_file 3145728
unevictable 0
`;
const V2_CPU_STAT = `usage_usec 2500000
user_usec 2000000
system_usec 500000
nr_periods 0
nr_throttled 0
throttled_usec 0
`;
const V2_IO_STAT = `8:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=0 dios=0
259:0 rbytes=512 wbytes=2048 rios=1 wios=1 dbytes=0 dios=0
`;
const V1_BLKIO = `8:0 Read 4096
8:0 Write 8192
8:0 Sync 0
8:0 Async 12288
8:0 Total 12288
Total 12288
`;
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999       9    0    0    0     0          0         0   999999       9    0    0    0     0       0          0
  eth0:    1500      12    0    0    0     0          0         0      648       8    0    0    0     0       0          0
  eth1:     500       2    0    0    0     0          0         0      352       2    0    0    0     0       0          0
`;

describe('stats readers', () => {
  it('v2: memory in use is memory.current minus inactive_file; max is no limit; cpu.stat usage_usec', () => {
    const stat = parseKeyed(V2_MEMORY_STAT);
    expect(memoryInUse(16_000_000, stat)).toBe(16_000_000 - 3_145_728);
    expect(parseLimit('max\n')).toBeUndefined();
    expect(parseLimit('268435456\n')).toBe(268_435_456);
    expect(parseKeyed(V2_CPU_STAT).get('usage_usec')).toBe(2_500_000);
  });

  it('v1: total_inactive_file wins over the local one; the huge unlimited value is no limit', () => {
    const stat = parseKeyed('inactive_file 100\ntotal_inactive_file 4096\n');
    expect(memoryInUse(10_000, stat)).toBe(10_000 - 4096);
    expect(parseLimit('9223372036854771712\n')).toBeUndefined();
    expect(memoryInUse(100, parseKeyed('total_inactive_file 4096'))).toBe(100);
  });

  it('block I/O from v2 io.stat and v1 blkio (Read/Write, not Total), and /proc/<pid>/io', () => {
    expect(parseIoStat(V2_IO_STAT)).toEqual({ read: 1_048_576 + 512, write: 4096 + 2048 });
    expect(parseBlkioServiceBytes(V1_BLKIO)).toEqual({ read: 4096, write: 8192 });
    expect(parseProcIo('rchar: 10\nwchar: 20\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n')).toEqual({ read: 4096, write: 8192 });
  });

  it('network I/O: every interface but lo', () => {
    expect(parseNetDev(NET_DEV)).toEqual({ rx: 2000, tx: 1000 });
  });

  it('CPU % is CPU time over wall time, 100 % per busy core', () => {
    const at = (cpuNs: number, atNs: bigint) => ({ cpuNs, atNs }) as UsageSample;
    expect(cpuPercent(at(0, 0n), at(500_000_000, 1_000_000_000n))).toBe(50);
    expect(cpuPercent(at(0, 0n), at(2_000_000_000, 1_000_000_000n))).toBe(200);
    expect(cpuPercent(at(5, 1n), at(5, 1n))).toBe(0);
  });

  it("writes figures as docker does, and reads them back", () => {
    expect(binarySize(1_577_058)).toBe('1.504MiB');
    expect(binarySize(0)).toBe('0B');
    expect(binarySize(2048)).toBe('2KiB');
    expect(decimalSize(1234)).toBe('1.23kB');
    expect(decimalSize(648)).toBe('648B');
    expect(percent(3.14159)).toBe('3.14%');
    expect(parseSize('1.504MiB')).toBeCloseTo(1.504 * 1024 * 1024);
    expect(parseSize('1.23kB')).toBe(1230);
    const sample = (memoryBytes: number): UsageSample => ({
      memoryBytes, memoryLimitBytes: 256 * 1024 * 1024, cpuNs: 0, pids: 3, netRxBytes: 2000, netTxBytes: 1000, blockReadBytes: 0, blockWriteBytes: 4096, atNs: 0n,
    });
    expect(statsRow('p-web-1', 'web', sample(0), sample(64 * 1024 * 1024))).toEqual({
      Name: 'p-web-1', Service: 'web', CPUPerc: '0.00%', MemUsage: '64MiB / 256MiB', MemPerc: '25.00%', NetIO: '2kB / 1kB', BlockIO: '0B / 4.1kB', PIDs: '3',
    });
  });
});

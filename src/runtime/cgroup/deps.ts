// The real outside world of a cgroup manager: node:fs, pidfd_send_signal(2), timers and bpf(2).
import { setTimeout as sleep } from 'node:timers/promises';
import { setDeviceProgram } from './bpf.js';
import { close } from '../../sys/libc.js';
import { pidfdOpen, pidfdSendSignal } from '../../sys/pidfd.js';
import { nodeCgroupFs } from './fs.js';
import type { CgroupDeps } from './manager.js';

/**
 * SIGKILL to a pid listed in a frozen group (no listed pid is reused while frozen), sent through
 * a pidfd as every signal is (src/sys/pidfd.ts); a process that already exited is fine.
 */
function killPid(pid: number): void {
  const fd = pidfdOpen(pid);
  if (fd === undefined) return;
  try {
    pidfdSendSignal(fd, 9, `pid ${pid}`);
  } finally {
    close(fd);
  }
}

/** Deps of a manager on the real machine. */
export const nodeCgroupDeps: CgroupDeps = {
  fs: nodeCgroupFs,
  kill: killPid,
  sleep: async (ms) => {
    await sleep(ms);
  },
  setDeviceProgram,
};

// The real outside world of a cgroup manager: node:fs, kill(2), timers and bpf(2).
import { setTimeout as sleep } from 'node:timers/promises';
import { setDeviceProgram } from './bpf.js';
import { errorCode, nodeCgroupFs } from './fs.js';
import type { CgroupDeps } from './manager.js';

/** SIGKILL to a pid; a process that already exited (ESRCH) is fine. */
function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if (errorCode(e) !== 'ESRCH') throw e;
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

// Supervisor processes found by their command line (`node …/supervisor/main.js <project>
// <run> <lib>`, or the bundle's `node …/bundle/supervisor.cjs …`, an older build's .mjs too),
// whatever state root they serve: `down` stops one that a crashed `up` was still starting (it
// had no pid file yet), and `stack gc` tells a project live in another root from one whose
// supervisor outlived its state.
import { readdirSync, readFileSync } from 'node:fs';
import { killProcessAndWait } from '../sys/pidfd.js';
import { readStartTime } from '../sys/proc.js';

/** A supervisor process of some state root: `node [options] …/supervisor/main.js <project> <run> <lib>`. */
export interface SupervisorProcess {
  readonly pid: number;
  readonly startTime: number;
  readonly project: string;
  readonly run: string;
}

/** Every supervisor process on the host, whatever its state root (found by its command line). */
export function supervisorProcesses(): SupervisorProcess[] {
  const found: SupervisorProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // `node [node options] SCRIPT <project> <run> <lib>` (control.ts passes V8 options first)
    const at = argv.findIndex((word, i) => i > 0 && !word.startsWith('-'));
    const [script = '', project, run] = at > 0 ? argv.slice(at) : [];
    if (!/\/(?:supervisor[^/]*\/main|bundle\/supervisor)\.[mc]?js$/.test(script)) continue;
    if (project === undefined || run === undefined) continue;
    const startTime = readStartTime(Number(entry));
    if (startTime !== undefined) found.push({ pid: Number(entry), startTime, project, run });
  }
  return found;
}

/** SIGKILLs `pid` (through a pidfd) if it is still the process started at `startTime`, and waits until it is gone. */
export async function killProcess(pid: number, startTime: number): Promise<void> {
  await killProcessAndWait(pid, startTime);
}

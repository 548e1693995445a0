// Shared pieces of the cgroup integration tests: a unique project per test, processes started
// the way the launcher starts them (join every cgroup.procs, then exec), and a cleanup that
// kills what the test started by pid and removes every group it made, even after a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach } from 'vitest';
import { eventually } from '../../harness/eventually.js';
import { openCgroups, type CgroupHandle, type CgroupManager } from '../../../src/runtime/cgroup/index.js';

/** A project name no other test (or engineer) uses: `t<8 hex>`. */
export function uniqueProject(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/** The host's manager, a fresh project and its Scratch, for the test running now. */
export interface ScratchRig {
  manager: CgroupManager;
  project: string;
  scratch: Scratch;
}

/**
 * Gives each test of the enclosing describe a fresh rig (beforeEach) and cleans it up
 * (afterEach); `afterCleanup` runs once the scratch is cleaned.
 */
export function useScratch(afterCleanup?: (rig: ScratchRig) => Promise<void>): ScratchRig {
  const rig = {} as ScratchRig;
  beforeEach(async () => {
    rig.manager = await openCgroups();
    rig.project = uniqueProject();
    rig.scratch = new Scratch(rig.manager, rig.project);
  });
  afterEach(async () => {
    await rig.scratch.cleanup();
    await afterCleanup?.(rig);
  });
  return rig;
}

/** What a test started and made, for afterEach. */
export class Scratch {
  readonly children: ChildProcess[] = [];
  readonly groups: CgroupHandle[] = [];

  constructor(
    private readonly manager: CgroupManager,
    private readonly project: string,
  ) {}

  /** Starts argv inside `group` (joined before exec, as the launcher does) and waits until it is listed. */
  async spawnIn(group: CgroupHandle, argv: readonly string[], opts: { stdout?: 'pipe' | 'ignore' } = {}): Promise<ChildProcess> {
    const join = group.procsFiles.map((f) => `echo $$ > ${f}`).join(' && ');
    const child = spawn('sh', ['-c', `${join} && exec "$@"`, 'sh', ...argv], { stdio: ['ignore', opts.stdout ?? 'ignore', 'ignore'] });
    this.children.push(child);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    await waitFor(async () => (await group.pids()).includes(pid) || child.exitCode !== null, `pid ${pid} to join ${group.dirs[0]}`);
    return child;
  }

  /** Kills the children still running (by pid), destroys every group of the project, and checks no dir is left. */
  async cleanup(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    const errors: unknown[] = [];
    // Groups a failed test made without recording them are found through the project's dir.
    for (const service of await this.manager.services(this.project)) {
      if (!this.groups.some((g) => g.service === service)) this.groups.push(this.manager.open(this.project, service));
    }
    for (const group of this.groups) {
      await group.destroy().catch((e: unknown) => errors.push(e));
      for (const dir of group.dirs) if (existsSync(dir)) errors.push(new Error(`${dir} is left behind`));
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** The exit of a child: [code, signal]. */
export async function exitOf(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  if (child.exitCode !== null || child.signalCode !== null) return [child.exitCode, child.signalCode];
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return [code, signal];
}

/** Polls `check` until true, failing after `ms` with what was awaited. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  await eventually(what, check, ms, 10);
}

/** Whether a pid is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    // /proc/<pid>/stat: `pid (comm) S ...`; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

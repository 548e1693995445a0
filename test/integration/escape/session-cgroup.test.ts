// The end of whoever ran `stack up` (a login session, a CI job: systemd kills its cgroup) does not
// end the project: `stack up -d` runs from a throwaway cgroup in every hierarchy of this host
// (each v1 hierarchy and the unified one), every process left in that cgroup is then killed
// (cgroup.kill on cgroup2, each pid on v1), and the services, their monitors (still logging) and
// the supervisor keep running, until `down` removes everything, their monitor cgroup included.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { eventually } from '../../harness/eventually.js';
import { BIN, rigPerTest } from '../up-down/rig.js';
import { hierarchyRoots, monitorGroup } from '../../../src/runtime/cgroup/monitors.js';
import { isSameProcess, readStartTime } from '../../../src/runtime/proc.js';
import { supervisorProcesses } from '../../../src/executor/supervisor-procs.js';

const rig = rigPerTest();
const sessions: string[][] = [];

/** Processes in a cgroup dir (none when it is gone). */
function procs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A throwaway cgroup in every hierarchy, as a login session's scope would be. */
function makeSession(): string[] {
  const name = `stk-session-${randomBytes(4).toString('hex')}`;
  const dirs = hierarchyRoots().map((root) => join(root, name));
  sessions.push(dirs);
  for (const dir of dirs) {
    mkdirSync(dir);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(dir, file))) writeFileSync(join(dir, file), readFileSync(join(dir, '..', file)));
    }
  }
  return dirs;
}

/** What systemd does to a session it stops: every process of its cgroup killed, in every hierarchy. */
async function killSession(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
  await eventually('the session cgroup to empty', () => {
    for (const dir of dirs) for (const pid of procs(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    return dirs.flatMap(procs).length === 0;
  });
}

afterEach(async () => {
  for (const dirs of sessions.splice(0)) {
    await killSession(dirs);
    for (const dir of dirs) rmdirSync(dir);
  }
});

describeRoot('the invoking session cgroup', () => {
  it('killing every process of the cgroup `stack up` ran in leaves services, monitors and supervisor running', async () => {
    const r = rig();
    r.spec(`  talker:
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.1; done"]
  quiet:
    command: sleep 3600
`);
    const session = makeSession();
    // The session: a shell that joins the throwaway cgroup everywhere, leaves a process of its
    // own there (a login shell's), and runs `stack up -d`.
    const enter = session.map((d) => `echo $$ > ${join(d, 'cgroup.procs')}`).join('; ');
    const script = `${enter}; sleep 3600 >/dev/null 2>&1 & echo $! > session.pid; exec "${process.execPath}" "${BIN}" up -d`;
    const up = await execa('sh', ['-c', script], { cwd: r.dir, env: r.env, extendEnv: false, reject: false });
    expect(up.exitCode, up.stderr).toBe(0);
    const sessionSleep = Number(readFileSync(join(r.dir, 'session.pid'), 'utf8'));
    const sessionSleepStart = readStartTime(sessionSleep)!;
    // Nothing of the project stays in the session's cgroups: only the session's own process. The
    // process that holds the CLI's memory while the kernel unmaps it (src/sys/leave.ts) may be
    // there for a few ms after the CLI: sharing that memory, it has the CLI's command line.
    const cli = `${process.execPath}\0${BIN}\0up\0-d\0`;
    for (const dir of session) {
      for (const pid of procs(dir).filter((p) => p !== sessionSleep)) {
        let argv = '';
        try {
          argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          // gone meanwhile
        }
        if (argv !== '') expect(argv).toBe(cli);
      }
      await eventually(`only the session's process in ${dir}`, () => (procs(dir).join() === String(sessionSleep) ? true : undefined), 2000);
    }

    const records = { talker: (await r.record('talker'))!, quiet: (await r.record('quiet'))! };
    // `up -d` returned once the supervisor's launcher had taken its sockets: it may be execing Node still.
    const supervisors = await eventually('the supervisor running Node', () => {
      const found = supervisorProcesses().filter((s) => s.project === r.name);
      return found.length > 0 ? found : undefined;
    }, 5000);
    expect(supervisors).toHaveLength(1);
    const monitors = monitorGroup(r.name);
    const inMonitorGroup = await monitors.pids();
    for (const record of Object.values(records)) expect(inMonitorGroup).toContain((record.monitor as { pid: number }).pid);
    expect(inMonitorGroup).toContain(supervisors[0]!.pid);

    await killSession(session);
    expect(isSameProcess(sessionSleep, sessionSleepStart)).toBe(false); // the session's own process died (a zombie at most)

    for (const record of Object.values(records)) {
      expect(isSameProcess(record.process!.pid, record.process!.startTime)).toBe(true);
      const monitor = record.monitor as { pid: number; startTime: number };
      expect(isSameProcess(monitor.pid, monitor.startTime)).toBe(true);
    }
    expect(isSameProcess(supervisors[0]!.pid, supervisors[0]!.startTime)).toBe(true);
    // The talker keeps writing (a service whose monitor died gets SIGPIPE on its next write),
    // and its monitor keeps logging it.
    const ticks = async (): Promise<number> => Math.max(0, ...[...(await r.ok(['logs', 'talker'])).stdout.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    const before = await ticks();
    await eventually('the talker to keep writing and its monitor to log it', async () => (await ticks()) > before + 5);
    const ps = await r.ok(['ps', '--format', 'json']);
    for (const record of Object.values(records)) expect(ps.stdout).toContain(String(record.process!.pid));

    await r.ok(['down']);
    expect(r.leftovers(['talker', 'quiet'])).toEqual([]);
    for (const dir of monitors.dirs) expect(existsSync(dir)).toBe(false);
    expect(isSameProcess(supervisors[0]!.pid, supervisors[0]!.startTime)).toBe(false);
  });
});

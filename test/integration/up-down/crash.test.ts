// `stack up` SIGKILLed at several points (STACK_TEST_CRASH_AT, test only), then `stack down`
// leaves nothing; killed between a launch and its pid record, the next `up` adopts the running
// process from its cgroup instead of starting a second copy; killed while a launcher holds its
// request but its workload has not joined the service's cgroups, the next `up` kills that launch
// and starts one copy; `stack gc` removes what a crashed run left even when its records are gone;
// two commands in one project never act at once (the lock).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { rigPerTest } from './rig.js';
import { eventually } from '../../harness/eventually.js';
import { supervisorProcesses } from '../../../src/executor/supervisor-procs.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { signalProcess } from '../../../src/sys/pidfd.js';
import { mainProcessesIn } from '../../../src/state/probe.js';
import { launchersOfService, monitorDirsOf, unansweredLaunchers, type ProcessId } from '../../../src/state/starting.js';
import { serviceFiles } from '../../../src/runtime/index.js';

const rig = rigPerTest();

const SPEC = `  a:
    command: sleep 3600
  b:
    command: sleep 3600
    depends_on: [a]
`;

describeRoot('crashes, gc and the lock', () => {
  it.each([
    'create-network:default:recorded',
    'create-network:default',
    'create-netns:a:recorded',
    'attach-veth:a/default:recorded',
    'start-service:a:recorded',
    'start-service:a:launched',
    'start-service:a',
  ])('kill -9 of `stack up` at %s, then `stack down` leaves nothing', async (point) => {
    const r = rig();
    r.spec(SPEC);
    const up = await r.stack(['up', '-d'], { STACK_TEST_CRASH_AT: point });
    expect(up.signal).toBe('SIGKILL');
    expect(r.leftovers(['a', 'b']).length).toBeGreaterThan(0);
    await r.ok(['down']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });

  // remove-service goes beside the detaches (planner/down.ts), the record with the last step of
  // the service's removal (executor/handlers/leaving.ts): remove-netns, which waits for the veths.
  it.each([
    ['stop-service:a', 'its process stopped, its stop mark and its record say so'],
    ['detach-veth:a/default', 'the record still names the veth and netns it removed'],
    ['remove-service:a', 'its cgroups and files gone; its veth and netns go beside it'],
    ['remove-netns:a', 'the record gone when it is the last step of its removal'],
  ])(
    'kill -9 of `stack down` at %s (%s): up starts both again, down leaves nothing',
    async (point) => {
      const r = rig();
      r.spec(SPEC);
      await r.ok(['up', '-d']);
      const pid = await r.pid('a');
      expect((await r.stack(['down'], { STACK_TEST_CRASH_AT: point })).signal).toBe('SIGKILL');
      const left = await r.record('a');
      if (point === 'stop-service:a') {
        // Its removal waits for every stop: its runtime files are there, the stop mark with them.
        expect(left?.process).toBeNull();
        expect(JSON.parse(readFileSync(serviceFiles(r.roots, r.name, 'a').stopped, 'utf8'))).toMatchObject({ pid });
      }
      // remove-service:a and remove-netns:a are not ordered: the record goes with whichever ends
      // last (the kernel's deletion of the veths, RCU grace periods, nearly always outlasts
      // remove-service). Until then it is there, naming its veth.
      if (point === 'detach-veth:a/default' || left !== undefined) {
        // A teardown's veth deletion begins once the stop's processes are gone, beside the stop's
        // last step, the record's write (executor/apply.ts lateDependencies): killed at the detach,
        // the record says `null`, or still names the process, gone, with the stop mark naming it
        // (remove-service, which removes the mark, waits for the whole stop). Either way no
        // supervisor would restart it.
        if (left?.process) {
          expect(isSameProcess(left.process.pid, left.process.startTime)).toBe(false);
          expect(JSON.parse(readFileSync(serviceFiles(r.roots, r.name, 'a').stopped, 'utf8'))).toMatchObject(left.process);
        } else expect(left?.process).toBeNull();
        expect(left?.veths.default?.host).toBeDefined(); // down leaves a record it deletes as it is
      }
      await r.ok(['up', '-d']);
      expect(await r.pid('a')).toBeGreaterThan(0);
      expect(await r.pid('b')).toBeGreaterThan(0);
      await r.ok(['down']);
      expect(r.leftovers(['a', 'b'])).toEqual([]);
    },
  );

  it('kill -9 of `stack up` between a launch and its pid record: the next `up` adopts the process, never a second copy', async () => {
    const r = rig();
    r.spec(SPEC);
    expect((await r.stack(['up', '-d'], { STACK_TEST_CRASH_AT: 'start-service:a:launched' })).signal).toBe('SIGKILL');
    const crashed = await r.record('a');
    expect(crashed?.process).toBeNull(); // launched, not recorded
    const running = await mainProcessesIn(crashed!.cgroups);
    expect(running).toHaveLength(1);
    const [first] = running;

    const up = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(up.stderr).toContain(`its cgroup holds pid ${first!.pid}`);
    const adopted = await r.record('a');
    expect(adopted?.process).toEqual({ pid: first!.pid, startTime: first!.startTime });
    expect(adopted?.monitor).toEqual(first!.monitor);
    expect(await mainProcessesIn(adopted!.cgroups)).toEqual(running); // the same one process, no second copy
    expect(await r.pid('b')).toBeGreaterThan(0);
    const ps = await r.ok(['ps', '--format', 'json']);
    expect(ps.stdout).toContain(String(first!.pid));

    await r.ok(['down']);
    expect(isSameProcess(first!.pid, first!.startTime)).toBe(false);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });

  it('kill -9 of `stack up` while a launcher holds its request and its workload has not joined its cgroups: the next `up` kills that launch, one copy runs', async () => {
    const r = rig();
    r.spec(SPEC);
    // The launcher opens its log after it has read its whole request and before it clones the
    // workload: a FIFO there holds it at that moment (opening a FIFO waits for a reader).
    const log = serviceFiles(r.roots, r.name, 'a').log;
    mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
    execFileSync('mkfifo', ['-m', '600', log]);
    const up = r.start(['up', '-d']);
    const held = await launcherBlockedInOpen(r, 'a').finally(() => up.kill('SIGKILL'));
    onTestFinished(() => void signalProcess(held.pid, held.startTime, 9)); // a failed test leaves no launcher blocked
    expect((await up).signal).toBe('SIGKILL');
    rmSync(log); // the next launch logs to a file (the held launcher waits on the FIFO it opened)

    const crashed = await r.record('a');
    expect(crashed?.process).toBeNull();
    expect(await mainProcessesIn(crashed!.cgroups)).toEqual([]); // nothing in the service's cgroups to adopt
    await r.ok(['ps']); // without the lock: observes, kills nothing
    expect(isSameProcess(held.pid, held.startTime)).toBe(true);

    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain(`killed pid ${held.pid}, a launch cut off before it answered`);
    expect(isSameProcess(held.pid, held.startTime)).toBe(false);
    const record = await r.record('a');
    const running = await mainProcessesIn(record!.cgroups);
    expect(running.map((p) => p.pid)).toEqual([record!.process!.pid]); // one copy, the recorded one
    expect(await startingLaunchers(r.name, 'a', record!.cgroups)).toEqual([]);

    await r.ok(['down']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });

  it('kill -9 of `stack down` while a service takes its time on SIGTERM: its stop mark is written, so no later supervisor restarts it', async () => {
    const r = rig();
    mkdirSync(`${r.dir}/out`);
    // On SIGTERM it says so, then takes 1.5 s to exit; restart: always would bring it back.
    r.spec(`  slow:\n    command: ["sh", "-c", "trap 'echo term > /out/term; sleep 1.5; exit 0' TERM; sleep 3600 & wait"]\n    restart: always\n    volumes: ["./out:/out"]\n`);
    await r.ok(['up', '-d']);
    const pid = await r.pid('slow');
    const down = r.start(['down']);
    for (let i = 0; i < 1000 && !existsSync(`${r.dir}/out/term`); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(existsSync(`${r.dir}/out/term`)).toBe(true);
    down.kill('SIGKILL');
    expect((await down).signal).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(serviceFiles(r.roots, r.name, 'slow').stopped, 'utf8'))).toMatchObject({ pid });
    await r.ok(['down']);
    expect(r.leftovers(['slow'])).toEqual([]);
  });

  it('gc removes what a crashed run left, records or not, and leaves a live project alone', async () => {
    const crashed = rig();
    // `b` waits for `a` to be healthy: the supervisor, which runs the healthcheck, is started in
    // the walk (a fresh `up` starts it after its walk otherwise), and is running at the kill.
    crashed.spec(`  a:
    command: sleep 3600
    healthcheck: { test: ["CMD", "true"], interval: 100ms, start_interval: 50ms, start_period: 10s }
  b:
    command: sleep 3600
    depends_on: { a: { condition: service_healthy } }
`);
    // Killed at the last operation.
    expect((await crashed.stack(['up', '-d'], { STACK_TEST_CRASH_AT: 'start-service:b' })).signal).toBe('SIGKILL');
    // A cut-off test run: its state dir is gone. The run's supervisor, if it got to start, is held
    // still meanwhile (SIGSTOP, then SIGCONT): alive, it rewrites its files (and their folders)
    // every tick, and the removal would race it.
    // Started in its walk, for the healthcheck (its launcher had taken its sockets: execing Node, perhaps, still).
    const held = await eventually('the crashed run\'s supervisor running Node', () => {
      const found = supervisorProcesses().filter((p) => p.project === crashed.name);
      return found.length > 0 ? found : undefined;
    }, 5000);
    expect(held.length).toBe(1);
    for (const p of held) process.kill(p.pid, 'SIGSTOP');
    try {
      rmSync(crashed.roots.run, { recursive: true, force: true });
    } finally {
      for (const p of held) if (isSameProcess(p.pid, p.startTime)) process.kill(p.pid, 'SIGCONT');
    }
    expect(crashed.leftovers(['a', 'b']).length).toBeGreaterThan(0);

    const live = rig();
    live.spec(SPEC);
    await live.ok(['up', '-d']);

    // gc runs in the live project's state root: that is where its supervisor and lock are found.
    // The crashed run's supervisor, unless its watchdog saw its pid file gone and it left by now.
    const strays = supervisorProcesses().filter((p) => p.project === crashed.name);
    const gc = await live.ok(['gc', crashed.name, live.name]);
    expect(gc.stdout).toContain(`${live.name}: live`);
    expect(gc.stdout).toContain(`${crashed.name}: removed`);
    // The crashed run's supervisor (its state root deleted under it) is found by its command line and killed.
    // Each one is gone afterwards: killed by gc (which names its pid), or gone by itself before.
    for (const stray of strays) {
      if (!gc.stdout.includes(`supervisor pid ${stray.pid}`)) expect(isSameProcess(stray.pid, stray.startTime)).toBe(false);
    }
    expect(supervisorProcesses().filter((p) => p.project === crashed.name)).toEqual([]);
    // Its files, rewritten in the deleted root before it died, are not gc's: that root is not the one gc runs in.
    expect(crashed.leftovers(['a', 'b']).filter((l) => !l.startsWith('state '))).toEqual([]);
    expect(await live.pid('a')).toBeGreaterThan(0);
    expect(live.leftovers(['a', 'b']).length).toBeGreaterThan(0);
  });

  it('up and down at once: one waits for the lock (naming its holder), --no-lock-wait fails with LOCKED', async () => {
    const r = rig();
    // `b` waits for `once` to complete: `up` holds the lock for about five seconds.
    r.spec(`  once:
    command: sleep 5
  b:
    command: sleep 3600
    depends_on:
      once:
        condition: service_completed_successfully
`);
    const up = r.start(['up', '-d', '--progress', 'plain']);
    for (let i = 0; i < 200 && !(await r.record('once'))?.process; i++) await new Promise((res) => setTimeout(res, 20));
    const refused = await r.stack(['down', '--no-lock-wait']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/locked by `stack up` \(pid \d+/);
    const down = await r.stack(['down', '--progress', 'plain']);
    expect(down.exitCode).toBe(0);
    expect(down.stderr).toMatch(/waiting for project \S+: it is locked by `stack up`/);
    const upResult = await up;
    expect(upResult.exitCode).toBe(0);
    expect(r.leftovers(['once', 'b'])).toEqual([]);
  });
});

/** openat's number: what /proc/PID/syscall starts with while the process waits in it. */
const OPENAT: Record<string, string> = { x64: '257', arm64: '56' };

/** The launchers of `service` that have not answered, looked for as observe() does. */
async function startingLaunchers(project: string, service: string, cgroups: readonly string[]): Promise<ProcessId[]> {
  return launchersOfService(service, await unansweredLaunchers(monitorDirsOf(project, service, cgroups)));
}

/** The service's launcher once it waits in openat (its log, a FIFO); polls (at most ~10 s) until then. */
async function launcherBlockedInOpen(r: ReturnType<typeof rig>, service: string): Promise<ProcessId> {
  for (let i = 0; i < 500; i++) {
    const cgroups = (await r.record(service))?.cgroups ?? [];
    for (const l of await startingLaunchers(r.name, service, cgroups)) {
      const syscall = (() => {
        try {
          return readFileSync(`/proc/${l.pid}/syscall`, 'utf8').split(' ')[0];
        } catch {
          return undefined;
        }
      })();
      if (syscall === OPENAT[process.arch]) return l;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no launcher of ${service} waiting in openat`);
}

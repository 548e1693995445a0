// A workload goes into its cgroups without waiting for the kernel's threadgroup lock, whose write
// side waits for an RCU grace period (every cgroup.procs write): into a cgroup v2 group it is
// cloned straight away (clone3 CLONE_INTO_CGROUP: native/launcher.c clone_workload), and it joins
// each v1 group as a process with one thread moving itself, through that hierarchy's `tasks`
// (native/common/cgroup.h). This host's hierarchies are both kinds where it has both (a v1 host
// with a unified hierarchy beside): the workload is given a group in each (a pure v2 host has no
// `tasks`: there only the v2 half is tried).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { hierarchyRoots } from '../../../src/runtime/cgroup/monitors.js';
import { encodeLaunchRequest } from '../../../src/runtime/launcher-config.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { cgroupPath } from '../../../src/names.js';
import { eventually } from '../../harness/eventually.js';
import { describeRoot } from '../../harness/require.js';
import { buildLauncher, LaunchRig, waitForExit } from './harness.js';

const rig = new LaunchRig();
const made: string[] = [];

afterEach(async () => {
  // Deepest first: the service's folder, then the project's.
  for (const dir of made.splice(0).reverse()) await eventually(`${dir} removed`, () => (existsSync(dir) ? (rmdirSync(dir), false) : true));
});
afterAll(() => rig.cleanup());

/** The hierarchy's folder of `rel`, with every level above it that is not there yet (all removed after the test). */
function group(root: string, rel: string): string {
  let dir = root;
  for (const part of rel.split('/')) {
    dir = join(dir, part);
    if (existsSync(dir)) continue;
    mkdirSync(dir);
    made.push(dir);
  }
  return dir;
}

/**
 * Runs the launcher on a request for `argv` in new namespaces with `cgroups`: its answer (its first
 * line; it lives on as the workload's monitor). The rig's paths of `name` hold its log and exit record.
 */
async function launched(name: string, cgroups: readonly string[], argv: readonly string[]): Promise<{ answer: Buffer; launcher: ChildProcess }> {
  const { logPath, exitPath } = rig.paths(name);
  const pairs: [string, string][] = [
    ['name', 'svc'], ['log', logPath], ['exit', exitPath], ['hostname', 'svc'], ['cwd', '/'],
    ['uid', '0'], ['gid', '0'], ['caps', '0'], ['netns', 'new'],
    ...cgroups.map((dir): [string, string] => ['cgroup', dir]),
    ...argv.map((arg): [string, string] => ['arg', arg]),
  ];
  const launcher = spawn(LAUNCHER_PATH, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  launcher.stdin.end(encodeLaunchRequest(pairs));
  const [answer] = (await once(launcher.stdout!, 'data')) as [Buffer];
  return { answer, launcher };
}

describeRoot('launcher: the workload joins its cgroups', () => {
  it('born in its v2 group (no write to its cgroup.procs), joined to its v1 group through `tasks`: in each, and listed in its cgroup.procs', async () => {
    buildLauncher();
    const rel = cgroupPath(`stkjoin${randomBytes(3).toString('hex')}`, 'svc');
    // A v1 hierarchy without cpuset (whose new groups have no CPUs to join until filled).
    const v1 = hierarchyRoots().find((root) => existsSync(join(root, 'tasks')) && !existsSync(join(root, 'cpuset.cpus')));
    const v2 = hierarchyRoots().find((root) => existsSync(join(root, 'cgroup.controllers')));
    const kinds = [v1, v2].filter((root): root is string => root !== undefined);
    expect(kinds.length).toBeGreaterThan(0);
    const dirs = kinds.map((root) => group(root, rel));
    // Which file each join wrote: inotify sees a write(2) to a cgroup file as any other.
    const written: string[] = [];
    const watchers: FSWatcher[] = dirs.flatMap((dir) =>
      ['tasks', 'cgroup.procs'].filter((f) => existsSync(join(dir, f))).map((f) => watch(join(dir, f), () => written.push(join(dir, f)))),
    );
    const { exitPath } = rig.paths('join');
    let pid: number | undefined;
    try {
      const { answer } = await launched('join', dirs, ['sleep', '120']);
      expect(String(answer)).toMatch(/^ok\t\d+\t/);
      pid = Number(String(answer).split('\t')[1]);
      // The only write: the v1 join (none where there is no v1 hierarchy). A kernel before 5.7
      // has no CLONE_INTO_CGROUP: there the workload joins its v2 group through cgroup.procs.
      const [major = 0, minor = 0] = release().split('.').map(Number);
      const cloneInto = major > 5 || (major === 5 && minor >= 7);
      const expected = kinds.flatMap((root, i) => (root === v2 ? (cloneInto ? [] : [join(dirs[i]!, 'cgroup.procs')]) : [join(dirs[i]!, 'tasks')]));
      await eventually('each join seen', () => expected.every((f) => written.includes(f)), 5000);
      await new Promise((resolve) => setTimeout(resolve, 100)); // a late event would be a write to the v2 group
      expect([...new Set(written)].sort()).toEqual(expected.sort());
      const memberships = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      for (const [i, root] of kinds.entries()) {
        expect(readFileSync(join(dirs[i]!, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
        // v2's line is `0::/path`; a v1 hierarchy's names its controllers.
        const line = root === v2 ? `0::/${rel}` : `:/${rel}`;
        expect(memberships.split('\n').some((l) => l.endsWith(line) && (root === v2) === l.startsWith('0::'))).toBe(true);
      }
    } finally {
      for (const w of watchers) w.close();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already (its sleep ended while an assertion waited)
        }
        await waitForExit(exitPath);
      }
    }
  });

  it('a v2 group that refuses the workload fails the launch, naming the group: no move around its refusal', async () => {
    buildLauncher();
    const v2 = hierarchyRoots().find((root) => existsSync(join(root, 'cgroup.controllers')));
    expect(v2, 'a cgroup v2 hierarchy (the unified one beside v1, or v2 alone)').toBeDefined();
    const project = `stkjoin${randomBytes(3).toString('hex')}`;
    // svc is left "domain invalid" once its sibling becomes threaded: no process may be put there.
    const svc = group(v2!, cgroupPath(project, 'svc'));
    const threads = group(v2!, cgroupPath(project, 'threads'));
    writeFileSync(join(threads, 'cgroup.type'), 'threaded');
    expect(readFileSync(join(svc, 'cgroup.type'), 'utf8').trim()).toBe('domain invalid');
    const { answer, launcher } = await launched('refused', [svc], ['true']);
    expect(String(answer)).toBe(`err\tcgroup\tEOPNOTSUPP\tclone into ${svc}\n`);
    await once(launcher, 'exit');
    expect(readFileSync(join(svc, 'cgroup.procs'), 'utf8')).toBe('');
  });
});

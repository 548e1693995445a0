// Kernel names are injective (src/names.ts), proved with the collisions issue 9 names: project
// `a` + service `b-web` beside project `a-b` + service `web` (one netns name before), and
// `my-app` beside `my_app` (one nftables table before), all up at once, side by side, then
// `down` (or `gc`) of one at a time, each leaving the others running and intact. And the records
// that hold environment values are 0600 in 0700 folders, out of reach of other users.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { cgroupPath, netnsName, nftTableName } from '../../../src/names.js';
import { isSameProcess, readStartTime } from '../../../src/runtime/proc.js';
import { killProcess, supervisorProcesses } from '../../../src/executor/supervisor-procs.js';
import { serviceRecords } from '../../../src/state/records.js';
import { serviceFiles } from '../../../src/state/service-files.js';
import { Rig } from './rig.js';
import { eventually } from '../../harness/eventually.js';

/** A rig whose project name the test chooses (the collisions need exact names). */
class NamedRig extends Rig {
  constructor(override readonly name: string) {
    super();
  }
}

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
});

function named(name: string, service: string): NamedRig {
  const r = new NamedRig(name);
  rigs.push(r);
  r.spec(`  ${service}:\n    command: sleep 3600\n`);
  return r;
}

/** A random start for the names, a letter first (a project name starts with a letter or digit). */
function fresh(): string {
  return `n${randomBytes(3).toString('hex')}`;
}

/** What is left of the project's names (the monitors' cgroups are the up-down tests' to check). */
function left(r: Rig, service: string): string[] {
  return r.leftovers([service]).filter((l) => !l.includes('/stack.monitors/'));
}

function nftTables(): string[] {
  return execFileSync('nft', ['list', 'tables', 'inet'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2] ?? '')
    .filter(Boolean);
}

/** The netns inode a process runs in, or the one a named netns file holds. */
function nsInode(path: string): number {
  return statSync(path).ino;
}

/** What one (project, service) owns in the kernel, read from the kernel, with its process. */
interface Owned {
  readonly project: string;
  readonly service: string;
  readonly pid: number;
  readonly startTime: number;
  readonly netns: string;
  readonly netnsInode: number;
  readonly cgroups: readonly string[];
  readonly table: string;
}

async function owned(r: Rig, service: string): Promise<Owned> {
  const record = await r.record(service);
  const pid = record?.process?.pid;
  if (!record || pid === undefined || record.netns === null) throw new Error(`${r.name}/${service}: not up`);
  return {
    project: r.name,
    service,
    pid,
    startTime: readStartTime(pid) ?? -1,
    netns: record.netns,
    netnsInode: nsInode(`/proc/${pid}/ns/net`),
    cgroups: record.cgroups,
    table: nftTableName(r.name),
  };
}

/** The pids in a cgroup folder (its cgroup.procs, which v1 and v2 folders both have). */
function procsIn(dir: string): string[] {
  return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
}

/** The objects are still there, the process is the same one, in the same netns and cgroups. */
function expectIntact(o: Owned): void {
  expect(isSameProcess(o.pid, o.startTime)).toBe(true);
  expect(nsInode(`/run/netns/${o.netns}`)).toBe(o.netnsInode);
  expect(nsInode(`/proc/${o.pid}/ns/net`)).toBe(o.netnsInode);
  // One folder per hierarchy, stack/<project>/<service>, each holding the service's process.
  expect(o.cgroups.length).toBeGreaterThan(0);
  for (const dir of o.cgroups) {
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(dir.endsWith(`/${cgroupPath(o.project, o.service)}`)).toBe(true);
    expect(procsIn(dir)).toContain(String(o.pid));
  }
  expect(nftTables()).toContain(o.table);
}

describeRoot('injective kernel names: the collision pairs of issue 9 side by side', () => {
  it('a + b-web and a-b + web, my-app and my_app: up at once, each its own netns, cgroups and table; down one by one leaves the others intact', async () => {
    const base = fresh();
    const a = named(base, 'b-web');
    const ab = named(`${base}-b`, 'web');
    const dash = named(`${base}-app`, 'web');
    const under = named(`${base}_app`, 'web');
    const pairs: [Rig, string][] = [[a, 'b-web'], [ab, 'web'], [dash, 'web'], [under, 'web']];
    await Promise.all(pairs.map(([r]) => r.ok(['up', '-d', '--progress', 'plain'])));

    const all = await Promise.all(pairs.map(([r, s]) => owned(r, s)));
    expect(all.map((o) => o.netns)).toEqual([
      netnsName(base, 'b-web'),
      netnsName(`${base}-b`, 'web'),
      netnsName(`${base}-app`, 'web'),
      netnsName(`${base}_app`, 'web'),
    ]);
    expect(new Set(all.map((o) => o.netns)).size).toBe(4);
    expect(new Set(all.map((o) => o.netnsInode)).size).toBe(4);
    // Cgroups: as many folders for each as there are hierarchies, every folder (real path: a
    // shared mount counts once) and every project folder above it different, none holding
    // another project's process.
    expect(all.map((o) => o.cgroups.length)).toEqual(all.map(() => all[0]!.cgroups.length));
    const dirs = all.flatMap((o) => o.cgroups.map((d) => realpathSync(d)));
    expect(new Set(dirs).size).toBe(dirs.length);
    expect(new Set(dirs.map((d) => dirname(d))).size).toBe(dirs.length);
    for (const o of all)
      for (const other of all.filter((x) => x !== o))
        for (const dir of o.cgroups) expect(procsIn(dir)).not.toContain(String(other.pid));
    expect(new Set(all.map((o) => o.table)).size).toBe(4);
    for (const o of all) expectIntact(o);

    // One by one: each down leaves every project not yet down running and intact.
    for (let i = 0; i < pairs.length; i++) {
      const [r, s] = pairs[i]!;
      await r.ok(['down', '--progress', 'plain']);
      expect(left(r, s)).toEqual([]);
      expect(isSameProcess(all[i]!.pid, all[i]!.startTime)).toBe(false);
      for (const o of all.slice(i + 1)) expectIntact(o);
    }
  });

  it('gc NAME takes only that project: gc of `a` leaves `a-b`, gc of `my_app` leaves `my-app`', async () => {
    const base = fresh();
    const a = named(base, 'b-web');
    const ab = named(`${base}-b`, 'web');
    const dash = named(`${base}-app`, 'web');
    const under = named(`${base}_app`, 'web');
    await Promise.all([a, ab, dash, under].map((r) => r.ok(['up', '-d', '--progress', 'plain'])));
    const keep = [await owned(ab, 'web'), await owned(dash, 'web')];

    for (const [gone, service] of [[a, 'b-web'], [under, 'web']] as const) {
      // A crashed `up` leaves no supervisor: kill this project's (we started it), so gc collects it.
      // `up -d` returns once its launcher has taken its sockets: it may be execing Node still.
      const ours = await eventually('the supervisor running Node', () => {
        const found = supervisorProcesses().filter((p) => p.project === gone.name && p.run === gone.roots.run);
        return found.length > 0 ? found : undefined;
      });
      for (const s of ours) await killProcess(s.pid, s.startTime);
      const gc = await gone.ok(['gc', gone.name]);
      expect(gc.stdout).toContain(`${gone.name}: removed`);
      expect(left(gone, service)).toEqual([]);
      for (const o of keep) expectIntact(o);
    }
  });
});

describeRoot('recorded names are the ones used: a scheme change never orphans what an earlier one made', () => {
  it('a netns recorded under the old name `stk-<project>-<service>` is used by a recreate and removed by down', async () => {
    const r = named(fresh(), 'web');
    await r.ok(['up', '-d', '--progress', 'plain']);
    // What an earlier version made: the same namespace under its old name, and the record saying so.
    const made = netnsName(r.name, 'web');
    const legacy = `stk-${r.name}-web`;
    execFileSync('sh', ['-c', `touch /run/netns/${legacy} && mount --bind /run/netns/${made} /run/netns/${legacy} && umount /run/netns/${made} && rm /run/netns/${made}`]);
    await serviceRecords.update(r.roots, r.name, 'web', (rec) => (rec ? { ...rec, netns: legacy } : null));
    const inode = nsInode(`/run/netns/${legacy}`);

    const again = await r.ok(['up', '-d', '--force-recreate', '--progress', 'plain']);
    expect(again.stderr).not.toContain('create-netns');
    expect(nsInode(`/proc/${await r.pid('web')}/ns/net`)).toBe(inode);
    expect(existsSync(`/run/netns/${made}`)).toBe(false);

    await r.ok(['down', '--progress', 'plain']);
    expect(existsSync(`/run/netns/${legacy}`)).toBe(false);
    expect(left(r, 'web')).toEqual([]);
  });
});

describeRoot('state records hold secrets: 0600 files in 0700 folders', () => {
  it('the snapshot (every service environment) and the records are unreadable to other users after a real up', async () => {
    const r = named(fresh(), 'web');
    // `once` exits (an exit record, a log); web's restart policy starts the supervisor (its log, pid file, socket).
    r.spec('  web:\n    command: sleep 3600\n    restart: always\n    environment:\n      API_TOKEN: s3cr3t-canary\n  once:\n    command: echo done\n');
    await r.ok(['up', '-d', '--progress', 'plain']);
    const exitRecord = serviceFiles(r.roots, r.name, 'once').exit;
    while (!existsSync(exitRecord)) await sleep(20); // the test's own timeout bounds it
    chmodSync(r.dir, 0o755); // the test's temp folder is 0700 itself: open it so only stack's modes stand in the way

    const run = join(r.roots.run, r.name);
    const snapshot = join(run, 'project.json');
    expect(readFileSync(snapshot, 'utf8')).toContain('s3cr3t-canary');
    expect(statSync(snapshot).mode & 0o777).toBe(0o600);
    for (const dir of [r.roots.run, run, join(run, 'services'), join(run, 'networks')]) {
      expect({ dir, mode: (statSync(dir).mode & 0o777).toString(8) }).toEqual({ dir, mode: '700' });
    }
    for (const folder of ['services', 'networks']) {
      for (const file of readdirSync(join(run, folder))) {
        expect({ file, mode: (statSync(join(run, folder, file)).mode & 0o777).toString(8) }).toEqual({ file, mode: '600' });
      }
    }
    // Everything under the project's run folder: no file readable and no folder open to the group
    // or others. Exceptions: the service's /etc name files (hosts, hostname, resolv.conf) are
    // 0644 because a non-root service reads them through its view (bound from the host, modes
    // kept); on the host they sit in a 0700 folder. A socket's mode gates connect: no write for others.
    // (The project's lock file is gone once `up` returns; while held it is 0644 in a 0700 folder.)
    const nameFiles = new Set(['hosts', 'hostname', 'resolv.conf']);
    const open: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const mode = lstatSync(path).mode & 0o777;
        if (entry.isDirectory()) {
          if (mode & 0o077) open.push(`${path} ${mode.toString(8)}`);
          walk(path);
        } else if (entry.isFile() && mode & 0o077 && !nameFiles.has(entry.name)) open.push(`${path} ${mode.toString(8)}`);
        else if (entry.isFile() && nameFiles.has(entry.name) && mode & 0o022) open.push(`${path} ${mode.toString(8)}`);
        else if (entry.isSocket() && mode & 0o022) open.push(`${path} ${mode.toString(8)}`); // others could connect
      }
    };
    walk(run);
    expect(open).toEqual([]);
    for (const made of ['ipam.json', 'runtime/web/service.log', 'runtime/once/exit.json', 'supervisor/supervisor.log']) expect(existsSync(join(run, made))).toBe(true);

    // Another user (nobody) can neither read the snapshot nor list the run folder.
    const asNobody = (args: string[]): number => {
      try {
        execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...args], { stdio: 'ignore' });
        return 0;
      } catch (e) {
        return (e as { status?: number }).status ?? -1;
      }
    };
    expect(asNobody(['ls', r.dir])).toBe(0); // the rig's folder is open: the test would see a leak
    expect(asNobody(['cat', snapshot])).not.toBe(0);
    expect(asNobody(['ls', run])).not.toBe(0);
  });
});

// A small real project, made by hand the way `stack up` makes it (the executor's apply is
// another area): a temp STACK_ROOT, one bridge network with a random /24, a netns and veth
// per service, real cgroups, services launched by the launcher into them, their records and
// the project snapshot written where the supervisor reads them. cleanup() removes all of it,
// supervisor included, even after a failed test.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCgroups, type CgroupManager } from '../../../src/runtime/cgroup/index.js';
import { launch } from '../../../src/runtime/launch.js';
import { isSameProcess, readBootId } from '../../../src/runtime/proc.js';
import { writeSnapshot } from '../../../src/state/snapshot.js';
import { serviceFiles } from '../../../src/state/service-files.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import { openNetworkDriver, setupProjectNetwork, teardownProjectNetwork, type ProjectNetworkSpec } from '../../../src/network/setup.js';
import { netnsName } from '../../../src/names.js';
import type { Project, Service } from '../../../src/spec/project.js';
import { NETNS_DIR, type StateRoots } from '../../../src/state/paths.js';
import { serviceRecords, updateServiceRecord, type ServiceRecord } from '../../../src/state/records.js';
import { stopSupervisor, supervisorEntry } from '../../../src/supervisor/index.js';
import { removeMonitorGroup } from '../../../src/runtime/cgroup/monitors.js';
import { prepareMounts } from '../../../src/runtime/mounts.js';
import { testService } from '../../fixtures/launch/service.js';
import { fileURLToPath } from 'node:url';

/**
 * The test programs, as every rig service sees them: bound read-only at /programs. A service
 * runs in its own root, where the host's /tmp is replaced by a private one, so a program is
 * never run from its path in the checkout (which may live under /tmp, as CI's clone can).
 */
export const PROGRAMS_DIR = '/programs';
const programsMount = {
  type: 'bind' as const,
  source: fileURLToPath(new URL('./programs', import.meta.url)),
  target: PROGRAMS_DIR,
  readOnly: true,
  createHostPath: false,
};

/** A rig service: the test's fields over the defaults, with the programs mounted. */
function rigService(name: string, s: RigService) {
  const base = testService({ name, hostname: name, networks: { default: { aliases: [], priority: 0 } }, ...s });
  return { ...base, volumes: [...base.volumes, programsMount] };
}

/** Builds the C helpers (launcher, exec) when missing or older than their source. */
export function buildNative(): void {
  execFileSync(process.execPath, ['scripts/build-native.mjs'], { stdio: 'inherit' });
}

const bundles: string[] = [];

/** Removes the bundles this test process made (afterAll). */
export function removeBundles(): void {
  for (const dir of bundles.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Bundles src/supervisor/main.ts for `node` (dist/ may be stale while developing); returns its path. */
export async function bundleSupervisor(): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild'); // vitest's own bundler
  } catch {
    return supervisorEntry({}); // dist/, as built by `npm run build`
  }
  // Two folders deep in the repository, like dist/supervisor/main.js: the paths main.js
  // derives from its own URL (native/build/...) resolve the same.
  const dir = join(process.cwd(), '.stack-test', `supervisor-${process.pid}-${randomBytes(3).toString('hex')}`);
  const outfile = join(dir, 'main.mjs');
  bundles.push(dir);
  await esbuild.build({
    entryPoints: ['src/supervisor/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** Pids whose command line mentions `word` (our unique project names). */
export function processesNaming(word: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(word)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Polls `check` until it holds, failing with `what` after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** One service of the rig: its spec without the boilerplate. */
export type RigService = Partial<Service> & { command: readonly string[] };

/** A project of a few services on one network, under a temp STACK_ROOT. */
export class ProjectRig {
  readonly project = `sv${randomBytes(4).toString('hex')}`;
  readonly base = mkdtempSync(join(tmpdir(), 'stack-sup-'));
  readonly roots: StateRoots = { run: join(this.base, 'run'), lib: join(this.base, 'lib') };
  readonly bootId = readBootId();
  private readonly octet = randomInt(1, 254);
  private cgroups: CgroupManager | undefined;
  private networkSpec: ProjectNetworkSpec | undefined;
  spec: Project | undefined;
  ipam: IpamRecord | undefined;

  /** The gateway of the network (the bridge's address). */
  get gateway(): string {
    return `10.231.${this.octet}.1`;
  }

  /** Address of the i-th service (sorted by name). */
  address(service: string): string {
    const names = Object.keys(this.spec?.services ?? {}).sort();
    return `10.231.${this.octet}.${names.indexOf(service) + 2}`;
  }

  /** Writes the snapshot, makes the network and starts every service. */
  async up(services: Record<string, RigService>): Promise<void> {
    const full: Record<string, Service> = {};
    for (const [name, s] of Object.entries(services)) {
      full[name] = rigService(name, s);
    }
    this.spec = {
      name: this.project,
      workingDir: this.base,
      files: [],
      services: full,
      networks: { default: { key: 'default', name: `${this.project}_default`, driver: 'bridge', internal: false, external: false, ipam: [], labels: {} } },
      volumes: {},
    };
    const addresses = Object.fromEntries(Object.keys(full).sort().map((name) => [name, this.address(name)]));
    this.ipam = { version: 1, networks: { default: { subnet: `10.231.${this.octet}.0/24`, gateway: this.gateway, addresses } } };
    await writeSnapshot(this.roots, this.spec, this.ipam);
    this.networkSpec = { project: this.project, networks: this.spec.networks, services: full, ipam: this.ipam };
    setupProjectNetwork(this.networkSpec);
    for (const name of Object.keys(full).sort()) await this.start(name);
  }

  /** Adds a service to the running project (snapshot, netns, veth) and starts it, as a re-run of `up` would. */
  async add(name: string, service: RigService): Promise<ServiceRecord> {
    if (!this.spec || !this.ipam || !this.networkSpec) throw new Error('up() first');
    const spec = rigService(name, service);
    const services = { ...this.spec.services, [name]: spec };
    const address = `10.231.${this.octet}.${Object.keys(services).length + 1}`;
    const allocation = this.ipam.networks.default!;
    this.spec = { ...this.spec, services };
    this.ipam = { version: 1, networks: { default: { ...allocation, addresses: { ...allocation.addresses, [name]: address } } } };
    this.networkSpec = { ...this.networkSpec, services, ipam: this.ipam };
    await writeSnapshot(this.roots, this.spec, this.ipam);
    const driver = openNetworkDriver();
    try {
      driver.createNetns(this.project, name);
      driver.attachVeth({ project: this.project, service: name, network: 'default', index: 0, address: `${address}/24`, defaultGateway: this.gateway });
    } finally {
      driver.close();
    }
    return this.start(name);
  }

  /** The address IPAM gave a service. */
  addressOf(name: string): string {
    const address = this.ipam?.networks.default?.addresses[name];
    if (!address) throw new Error(`no address for ${name}`);
    return address;
  }

  /** Stops a service the way the executor's stop-service does: killed, process cleared from the record. */
  async stop(name: string): Promise<void> {
    this.cgroups ??= await openCgroups();
    await this.cgroups.open(this.project, name).killAll();
    await updateServiceRecord(this.roots, this.project, name, this.bootId, (r) => ({ ...r, process: null }));
  }

  /** Launches one service as the executor's start-service does, and records it. */
  async start(name: string): Promise<ServiceRecord> {
    const spec = this.spec?.services[name];
    if (!spec) throw new Error(`no service ${name}`);
    this.cgroups ??= await openCgroups();
    const group = await this.cgroups.create(this.project, name, spec.limits);
    const files = serviceFiles(this.roots, this.project, name);
    mkdirSync(files.dir, { recursive: true });
    await updateServiceRecord(this.roots, this.project, name, this.bootId, (r) => ({
      ...r,
      config: { hash: 'rig', fields: {} },
      netns: netnsName(this.project, name),
      cgroups: [...group.dirs],
      runtime: files.dir,
      stop: { signal: spec.stopSignal, graceMs: spec.stopGracePeriodMs },
    }));
    // The name files and the view, as the executor's start-service gives them (restarts rebuild the same).
    writeFileSync(files.hosts, `127.0.0.1\tlocalhost\n${this.addressOf(name)}\t${spec.hostname}\n`);
    writeFileSync(files.hostname, `${spec.hostname}\n`);
    writeFileSync(files.resolvConf, `nameserver ${this.gateway}\n`);
    const launched = await launch({
      service: spec,
      cgroup: group,
      netns: join(NETNS_DIR, netnsName(this.project, name)),
      logPath: files.log,
      exitPath: files.exit,
      view: { etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf }, mounts: await prepareMounts({ roots: this.roots, project: this.spec!, mode: 'find' }, spec) },
    });
    const record = await updateServiceRecord(this.roots, this.project, name, this.bootId, (r) => ({
      ...r,
      process: { pid: launched.pid, startTime: launched.startTime },
      monitor: { pid: launched.monitorPid, startTime: launched.monitorStartTime },
    }));
    if (!record) throw new Error(`record of ${name} vanished`);
    return record;
  }

  /** The service's record now. */
  async record(name: string): Promise<ServiceRecord | undefined> {
    return serviceRecords.read(this.roots, this.project, name);
  }

  /** Stops the supervisor, kills every service (by cgroup), removes cgroups, network and files. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    await stopSupervisor(this.project, this.roots).catch((e: unknown) => errors.push(e));
    // Any process still naming this project in its argv is a supervisor that escaped: a bug.
    for (const pid of processesNaming(this.project)) {
      errors.push(new Error(`a supervisor of ${this.project} (pid ${pid}) is still running after stopSupervisor`));
      process.kill(pid, 'SIGKILL');
    }
    this.cgroups ??= await openCgroups();
    for (const name of await this.cgroups.services(this.project)) {
      const group = this.cgroups.open(this.project, name);
      const record = await this.record(name).catch(() => undefined);
      await group.destroy().catch((e: unknown) => errors.push(e));
      const monitor = record?.monitor as { pid: number; startTime: number } | undefined;
      // The monitor writes the exit record and leaves; wait for it so nothing of ours outlives the test.
      for (let i = 0; monitor && i < 200 && isSameProcess(monitor.pid, monitor.startTime); i++) await sleep(10);
    }
    await removeMonitorGroup(this.project).catch((e: unknown) => errors.push(e)); // the monitors' and the supervisor's
    if (this.networkSpec) {
      try {
        teardownProjectNetwork(this.networkSpec);
      } catch (e) {
        errors.push(e);
      }
    }
    rmSync(this.base, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}

/**
 * The hooks every supervisor test file needs: the C helpers built and the supervisor bundled
 * once, and each rig a test made cleaned up after it, even when the test failed. Returns the
 * maker of a test's rig.
 */
export function supervisorRigs(): () => ProjectRig {
  const made: ProjectRig[] = [];
  beforeAll(async () => {
    buildNative();
    process.env.STACK_SUPERVISOR_ENTRY = await bundleSupervisor();
  });
  afterAll(removeBundles);
  afterEach(async () => {
    for (const rig of made.splice(0)) await rig.cleanup();
  });
  return () => {
    const rig = new ProjectRig();
    made.push(rig);
    return rig;
  };
}

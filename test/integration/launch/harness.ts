// Shared by the launch integration tests: a temp dir for logs and exit records, real cgroups
// (the cgroup manager) under a unique project, and a cleanup that leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCgroups, type CgroupHandle, type CgroupManager } from '../../../src/runtime/cgroup/index.js';
import type { DeviceRule } from '../../../src/runtime/cgroup/devices.js';
import { deviceRulesFor } from '../../../src/runtime/devices.js';
import { removeMonitorGroup } from '../../../src/runtime/cgroup/monitors.js';
import { readExitRecord, type ExitRecord } from '../../../src/state/exit-record.js';
import { launch, type LaunchedService, type LaunchOptions } from '../../../src/runtime/launch.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import type { Limits, Service } from '../../../src/spec/project.js';

/** Builds native/build/launcher when it is missing or older than its source. */
export function buildLauncher(): void {
  execFileSync(process.execPath, ['scripts/build-native.mjs'], { stdio: 'inherit' });
}

/** Open fds of this process: the fd-leak check. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits for the monitor's exit record. */
export async function waitForExit(path: string, ms = 15_000): Promise<ExitRecord> {
  const deadline = Date.now() + ms;
  for (;;) {
    const record = readExitRecord(path);
    if (record) return record;
    if (Date.now() > deadline) throw new Error(`no exit record at ${path} after ${ms} ms`);
    await sleep(10);
  }
}

/** A started service and what it runs in. */
export interface Started extends LaunchedService {
  readonly group: CgroupHandle;
}

/** One test file's services: a unique cgroup project and a temp dir, all removed by cleanup(). */
export class LaunchRig {
  readonly project = `lt${randomBytes(4).toString('hex')}`;
  private tempDir: string | undefined;
  private cgroups: CgroupManager | undefined;
  private readonly groups: CgroupHandle[] = [];
  private readonly started: Started[] = [];
  private count = 0;

  /** The rig's temp dir, made on first use (a rig whose tests are filtered out makes none). */
  get dir(): string {
    this.tempDir ??= mkdtempSync(join(tmpdir(), 'stack-launch-'));
    return this.tempDir;
  }

  /** A fresh, empty cgroup for a service of this rig (Docker's default device rules unless given). */
  async group(service: string, limits: Limits = {}, devices?: readonly DeviceRule[]): Promise<CgroupHandle> {
    this.cgroups ??= await openCgroups();
    const group = await this.cgroups.create(this.project, service, limits, devices);
    this.groups.push(group);
    return group;
  }

  /** Paths of the next service's log and exit record. */
  paths(name: string): { logPath: string; exitPath: string } {
    return { logPath: join(this.dir, `${name}.log`), exitPath: join(this.dir, `${name}.exit`) };
  }

  /** Launches `service` in its own cgroup (unique name) and a new empty netns unless told otherwise. */
  async start(service: Service, extra: Partial<LaunchOptions> = {}): Promise<Started> {
    const name = `s${++this.count}`;
    const group = await this.group(name, service.limits, deviceRulesFor(service));
    const launched = await launch({ service, cgroup: group, netns: 'new', ...this.paths(name), ...extra });
    const started = { ...launched, group };
    this.started.push(started);
    return started;
  }

  /** Runs `service` to its end; returns its exit record and its log lines. */
  async run(service: Service, extra: Partial<LaunchOptions> = {}): Promise<{ record: ExitRecord; lines: string[]; started: Started }> {
    const started = await this.start(service, extra);
    const record = await waitForExit(started.exitPath);
    return { record, lines: readLogLines(started.logPath).map((l) => l.text), started };
  }

  /** Kills whatever still runs, removes the cgroups and the temp dir. */
  async cleanup(): Promise<void> {
    for (const s of this.started) {
      if (isSameProcess(s.pid, s.startTime)) await s.group.killAll();
      if (isSameProcess(s.monitorPid, s.monitorStartTime)) await waitForExit(s.exitPath).catch(() => undefined);
    }
    for (const g of this.groups) await g.destroy();
    await removeMonitorGroup(this.project); // where launch() put the monitors
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
  }
}

// One RUN step of a build: the command run by the launcher as a service is (native/launcher),
// on an overlayfs root of the stage's layers with a fresh upper folder, which becomes the
// step's layer. The step runs in its own mount, pid, UTS and IPC namespaces and cgroup, with
// Docker's default capabilities and seccomp filter, in the host's network namespace (as
// `docker build --network host`: stack runs no build network) or in an empty one (`none`).
// Its output is followed from the monitor's log as it comes; whatever it left running is killed
// with its cgroup when its main process ends, as BuildKit ends a step's processes.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Service } from '../spec/project.js';
import { bareService } from '../spec/bare-service.js';
import { deviceRulesFor, describeExit, followLogs, launch, openCgroups, type Identity, type ViewMount } from '../runtime/index.js';
import { awaitExitRecord, statusCode } from '../state/exit-record.js';

/** What a RUN step runs and on what. */
export interface RunStep {
  /** The project and service the build is for (the cgroup's place, messages). */
  readonly project: string;
  readonly service: string;
  /** The build's id: its step's cgroup is `stack/<project>/build-<id>` (builder.ts sweeps those of builds that are gone). */
  readonly buildId: string;
  /** The program and its arguments (the shell form already wrapped in the stage's SHELL). */
  readonly argv: readonly string[];
  /** `NAME=value` entries: the image's Env with the step's build arguments. */
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string;
  readonly identity: Identity;
  /** The stage's layer folders, lowest first. */
  readonly layers: readonly string[];
  /** An empty folder that receives the step's changes (the overlay's upper), and a work folder beside it on the same file system. */
  readonly upper: string;
  readonly work: string;
  /** A folder of the step's own for its log, exit record and /etc name files. */
  readonly scratch: string;
  readonly network: 'host' | 'none';
  /** `RUN --mount`s: host folders bound (and tmpfs) into the step's view. */
  readonly mounts?: readonly ViewMount[];
  /** Each line the step writes, as it comes. */
  readonly onLine: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** The cgroup of a build's RUN steps (one at a time), under its project's. */
export function stepGroupName(buildId: string): string {
  return `build-${buildId}`;
}

/** The build a cgroup of a project is the RUN steps' group of (stepGroupName), or undefined. */
export function buildOfGroup(name: string): string | undefined {
  return /^build-([0-9a-f]{64})$/.exec(name)?.[1];
}

/** The Service the launcher is given for a step: compose's defaults, nothing published, no volumes. */
function stepService(step: RunStep): Service {
  return {
    ...bareService(step.service),
    command: [...step.argv],
    environment: step.env,
    workingDir: step.workingDir,
    hostname: 'buildsandbox',
    stopSignal: 'SIGKILL',
    stopSignalSet: true,
    stopGracePeriodMs: 0,
    imageRoot: {
      id: 'build-step',
      reference: `build of ${step.service}`,
      digest: 'build-step',
      layers: [],
      identity: { uid: step.identity.uid, gid: step.identity.gid, groups: [...step.identity.groups] },
      exposedPorts: [],
    },
  };
}

/** The host's resolver configuration (the step shares the host's network), or a loopback one. */
function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** Runs the step; resolves when its command exited 0, else a UserError with its status and its last lines. */
export async function runStep(step: RunStep, describe: string): Promise<void> {
  await mkdir(step.scratch, { recursive: true, mode: 0o700 });
  const files = { hosts: join(step.scratch, 'hosts'), hostname: join(step.scratch, 'hostname'), resolvConf: join(step.scratch, 'resolv.conf') };
  await Promise.all([
    writeFile(files.hosts, '127.0.0.1\tlocalhost buildsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n', { mode: 0o644 }),
    writeFile(files.hostname, 'buildsandbox\n', { mode: 0o644 }),
    writeFile(files.resolvConf, step.network === 'host' ? hostResolvConf() : '', { mode: 0o644 }),
  ]);
  const service = stepService(step);
  const cgroups = await openCgroups();
  const group = await cgroups.create(step.project, stepGroupName(step.buildId), {}, deviceRulesFor(service));
  const logPath = join(step.scratch, 'step.log');
  const exitPath = join(step.scratch, 'step.exit');
  const tail: string[] = [];
  const following = new AbortController();
  let follower: Promise<void> | undefined;
  try {
    const launched = await launch({
      service,
      cgroup: { dirs: group.dirs },
      netns: step.network === 'host' ? 'host' : 'new',
      logPath,
      exitPath,
      view: { etcFiles: files, mounts: step.mounts ?? [], image: { layers: step.layers, upper: { upper: step.upper, work: step.work } } },
      devices: [],
    });
    follower = followLogs(
      [{ service: step.service, path: logPath }],
      (_service, line) => {
        step.onLine(line.text);
        tail.push(line.text);
        if (tail.length > 10) tail.shift();
      },
      following.signal,
    );
    const cancelled = new Promise<'cancelled'>((resolve) => {
      if (step.signal?.aborted) resolve('cancelled');
      step.signal?.addEventListener('abort', () => resolve('cancelled'), { once: true });
    });
    const ended = await Promise.race([
      awaitExitRecord(exitPath, launched, { pid: launched.monitorPid, startTime: launched.monitorStartTime }),
      cancelled,
    ]);
    following.abort();
    await follower;
    follower = undefined;
    if (ended === 'cancelled') throw new UserError('BUILD_CANCELLED', `${describe}: cancelled`);
    if (ended === undefined) throw new UserError('BUILD_STEP_FAILED', `${describe}: its process left no exit status`, 'run the build again');
    if (ended.exitCode !== 0) {
      const status = statusCode(ended);
      const last = tail.length > 0 ? `\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
      throw new UserError('BUILD_STEP_FAILED', `${describe}: ${describeExit(ended)} (status ${status})${last}`, 'fix the command in the Dockerfile; its output is above');
    }
  } finally {
    following.abort();
    await follower?.catch(() => undefined);
    await group.destroy(); // kills what the step left running
    await rm(step.scratch, { recursive: true, force: true });
  }
}

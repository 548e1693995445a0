// The launch request native/launcher reads on its stdin: NUL-terminated key/value pairs
// (native/launcher/config.h). Built here, purely, from the service and what was resolved
// for it; tests read it back with decodeLaunchRequest.
import type { Service } from '../spec/project.js';
import { UserError } from '../errors.js';
import type { Identity } from './user.js';
import { viewRequestPairs, type ServiceView } from './view.js';
import { processSettingPairs } from './process-settings.js';
import type { ResolvedDevice } from './cgroup/devices.js';

import { DEFAULT_SEARCH_PATH } from './search-path.js';

/** Size bound of the service's log files. */
export interface LogRotation {
  /** Bytes of one file before it is rotated (≥ 4096). */
  readonly maxBytes: number;
  /** Files kept, the live one included. */
  readonly maxFiles: number;
}

/** Docker's json-file bound as most people configure it: 10 MiB × 3. */
export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 3 };

/** Everything the launcher needs, resolved. */
export interface LaunchSpec {
  readonly service: Service;
  /** The program and its arguments: entrypoint then command. */
  readonly argv: readonly string[];
  readonly identity: Identity;
  /** Capability mask (caps.ts). */
  readonly caps: bigint;
  readonly cgroupDirs: readonly string[];
  readonly oomEventsFile?: string;
  /** A netns path, `new` (a fresh empty one) or `host`. */
  readonly netns: string;
  /** `pid`/`ipc` shared: `host`, or the path of another service's namespace (/proc/PID/ns/pid); absent: a new one. */
  readonly pidNs?: string;
  readonly ipcNs?: string;
  readonly logPath: string;
  readonly exitPath: string;
  readonly logRotation: LogRotation;
  /** The built root (view.ts); without it the service sees the host's root. */
  readonly view?: ServiceView;
  /** Host device nodes bound into the view's /dev (devices.ts serviceDevices); needs the view. */
  readonly devices?: readonly ResolvedDevice[];
  /** The seccomp filter loaded before exec, as request pairs (seccomp/compile.ts); none without it. */
  readonly seccomp?: readonly (readonly [string, string])[];
}

/** `entrypoint` then `command`, as compose runs them; a UserError when there is nothing to run. */
export function commandOf(service: Service): string[] {
  const argv = [...(service.entrypoint ?? []), ...(service.command ?? [])];
  if (argv.length === 0) {
    throw new UserError(
      'NO_COMMAND',
      `service "${service.name}" has no command to run`,
      'give it a `command:` (or an `entrypoint:`): without an image there is nothing else to start',
    );
  }
  return argv;
}

/** The request as ordered key/value pairs. */
export function launchRequest(spec: LaunchSpec): [string, string][] {
  const s = spec.service;
  const pairs: [string, string][] = [
    ['name', s.name],
    ['log', spec.logPath],
    ['log_max_bytes', String(spec.logRotation.maxBytes)],
    ['log_max_files', String(spec.logRotation.maxFiles)],
    ['exit', spec.exitPath],
    ['hostname', s.hostname],
    ['cwd', s.workingDir ?? '/'],
    ['uid', String(spec.identity.uid)],
    ['gid', String(spec.identity.gid)],
    ['caps', spec.caps.toString(16)],
    ['search_path', s.environment.PATH ?? DEFAULT_SEARCH_PATH],
  ];
  if (spec.netns !== 'host') pairs.push(['netns', spec.netns]);
  if (spec.pidNs !== undefined) pairs.push(['pid_ns', spec.pidNs]);
  if (spec.ipcNs !== undefined) pairs.push(['ipc_ns', spec.ipcNs]);
  // The IPC namespace's /dev/shm comes along (Docker's): the host's, or the other service's (its mount namespace).
  if (spec.ipcNs !== undefined && spec.view !== undefined) pairs.push(['shm_from', spec.ipcNs === 'host' ? 'host' : spec.ipcNs.replace(/\/ipc$/, '/mnt')]);
  if (s.init) pairs.push(['init', '1']); // the launcher's own init (native/launcher/init.h)
  if (s.hold) pairs.push(['hold', '1']); // a one-off's holder: no program (native/launcher/workload.c)
  if (s.tty) pairs.push(['tty', '1']); // stdio a pseudo-terminal, logged as stdout (native/launcher.c)
  if (s.stdinOpen) pairs.push(['stdin_open', '1']); // stdin a pipe kept open, not /dev/null
  if (spec.oomEventsFile !== undefined) pairs.push(['oom_events', spec.oomEventsFile]);
  if (spec.view !== undefined) pairs.push(...viewRequestPairs(s, spec.view));
  if (spec.view !== undefined) for (const d of spec.devices ?? []) pairs.push(['device', d.source], ['device_target', d.target]);
  for (const dir of spec.cgroupDirs) pairs.push(['cgroup', dir]);
  for (const [key, value] of spec.seccomp ?? []) pairs.push([key, value]);
  for (const gid of spec.identity.groups) pairs.push(['group', String(gid)]);
  pairs.push(...processSettingPairs(s));
  for (const [key, value] of Object.entries(s.environment)) pairs.push(['env', `${key}=${value}`]);
  for (const arg of spec.argv) pairs.push(['arg', arg]);
  for (const [key, value] of pairs) {
    if (value.includes('\0')) {
      throw new UserError('NUL_IN_VALUE', `service "${s.name}": ${key} contains a NUL byte: ${JSON.stringify(value)}`, 'a process cannot receive NUL bytes in its arguments or environment');
    }
  }
  return pairs;
}

/** The pairs as the bytes the launcher reads. */
export function encodeLaunchRequest(pairs: readonly (readonly [string, string])[]): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8');
}

/** The pairs back from the bytes (tests, debugging). */
export function decodeLaunchRequest(bytes: Buffer): [string, string][] {
  const parts = bytes.toString('utf8').split('\0').slice(0, -1);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) pairs.push([parts[i] as string, parts[i + 1] as string]);
  return pairs;
}

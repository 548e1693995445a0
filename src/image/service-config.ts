// The image config honoured as Docker honours it when compose creates a container (moby's
// daemon/commit.go merge, then its create checks): the spec's entrypoint/command over the
// image's Entrypoint/Cmd, Env under the spec's environment, WorkingDir, User, StopSignal,
// Healthcheck, Volumes (anonymous volumes) and ExposedPorts. Pure: the config is hostile
// input (from a registry); a malformed value is a UserError naming the image, never a crash.
import { constants } from 'node:os';
import { posix } from 'node:path';
import { UserError } from '../errors.js';
import type { Healthcheck, Mount, Service } from '../spec/project.js';
import { HEALTHCHECK_DEFAULTS } from '../spec/service.js';
import type { ImageConfig } from './manifest.js';

/** The image config's `config` object (how to run the image); null when the image has none. */
export type RunConfig = NonNullable<ImageConfig['config']>;

/** Docker's PATH for a container whose environment (spec and image) sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function badConfig(image: string, what: string): UserError {
  return new UserError('BAD_IMAGE_CONFIG', `image ${image}: ${what}`,
    'the image config is malformed; rebuild the image, or override the value in the service spec');
}

/** The argv a service runs: entrypoint then command. */
export interface EffectiveCommand {
  readonly entrypoint: readonly string[];
  readonly command: readonly string[];
  /** entrypoint followed by command; never empty. */
  readonly argv: readonly string[];
}

/**
 * Docker's override rules: a non-empty spec `entrypoint` replaces the image's Entrypoint and
 * drops the image's Cmd (the spec's `command`, if any, follows it); an empty one (`[]`, `''`)
 * removes the image's Entrypoint but keeps its Cmd unless `command` is given; `command` alone
 * replaces Cmd only (an empty `command` is as none). An empty result is NO_COMMAND.
 */
export function effectiveCommand(
  spec: Pick<Service, 'name' | 'entrypoint' | 'command'>,
  config: RunConfig | null | undefined,
  image: string,
): EffectiveCommand {
  const imageEntrypoint = config?.Entrypoint ?? [];
  const imageCmd = config?.Cmd ?? [];
  let entrypoint: readonly string[];
  let command: readonly string[] = spec.command ?? [];
  if (spec.entrypoint !== null && spec.entrypoint.length > 0) {
    entrypoint = spec.entrypoint;
  } else {
    if (command.length === 0) command = imageCmd;
    entrypoint = spec.entrypoint === null ? imageEntrypoint : [];
  }
  const argv = [...entrypoint, ...command];
  if (argv.length === 0 || argv[0] === '') {
    throw new UserError('NO_COMMAND', `service "${spec.name}": image ${image} names no command to run (no Entrypoint and no Cmd) and the spec gives none`,
      'give the service a `command:` (or an `entrypoint:`)');
  }
  return { entrypoint: [...entrypoint], command: [...command], argv };
}

/**
 * The image's Env (KEY=VALUE) overlaid by the spec's environment: the spec wins key by key;
 * PATH comes from the image when the spec has none, Docker's default when neither has one.
 * An entry without `=` or with an empty key is dropped; a NUL byte is BAD_IMAGE_CONFIG.
 */
export function effectiveEnvironment(
  specEnvironment: Readonly<Record<string, string>>,
  config: RunConfig | null | undefined,
  image: string,
): Record<string, string> {
  const env = new Map<string, string>();
  for (const entry of config?.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    if (entry.includes('\0')) throw badConfig(image, `Env entry ${JSON.stringify(entry.slice(0, 80))} has a NUL byte`);
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [key, value] of Object.entries(specEnvironment)) env.set(key, value);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return Object.fromEntries(env);
}

/** The spec's `working_dir`, else the image's WorkingDir, else `/`; a relative one is refused (as Docker does). */
export function effectiveWorkingDir(specWorkingDir: string | undefined, config: RunConfig | null | undefined, image: string): string {
  if (specWorkingDir !== undefined && specWorkingDir !== '') return specWorkingDir;
  const wd = config?.WorkingDir ?? '';
  if (wd === '') return '/';
  if (wd.includes('\0') || !wd.startsWith('/')) throw badConfig(image, `WorkingDir ${JSON.stringify(wd.slice(0, 200))} is not an absolute path`);
  return posix.normalize(wd);
}

/** The user to resolve: the spec's `user`, else the image's User; undefined means root. */
export function effectiveUser(specUser: string | undefined, config: RunConfig | null | undefined): string | undefined {
  if (specUser !== undefined && specUser !== '') return specUser;
  const user = config?.User ?? '';
  return user === '' ? undefined : user;
}

/** A signal as Docker accepts it (`SIGQUIT`, `QUIT`, `3`) → its name, or undefined. */
function signalName(text: string): string | undefined {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) return Object.keys(signals).find((k) => signals[k] === Number(text));
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  return Object.hasOwn(signals, name) ? name : undefined;
}

/**
 * The stop signal: the spec's `stop_signal` when written (pass undefined when it was not:
 * the Service model defaults it to SIGTERM), else the image's StopSignal, else SIGTERM.
 */
export function effectiveStopSignal(specStopSignal: string | undefined, config: RunConfig | null | undefined, image: string): string {
  if (specStopSignal !== undefined) return specStopSignal;
  const s = config?.StopSignal ?? '';
  if (s === '') return 'SIGTERM';
  const name = signalName(s);
  if (name === undefined) throw badConfig(image, `StopSignal ${JSON.stringify(s.slice(0, 40))} is not a signal`);
  return name;
}

const NS_PER_MS = 1_000_000;

/** The image's Healthcheck in the spec's terms; null for none or `["NONE"]`. Zero durations take Docker's defaults. */
export function imageHealthcheck(config: RunConfig | null | undefined, image: string): Healthcheck | null {
  const h = config?.Healthcheck;
  if (!h || !h.Test || h.Test.length === 0) return null;
  const [kind, ...rest] = h.Test;
  let test: string[];
  if (kind === 'NONE') return null;
  if (kind === 'CMD' && rest.length > 0 && rest[0] !== '') test = ['CMD', ...rest];
  else if (kind === 'CMD-SHELL' && rest.length > 0) test = ['CMD-SHELL', rest.join(' ')];
  else throw badConfig(image, `Healthcheck.Test ${JSON.stringify(h.Test.slice(0, 3))} must start with CMD, CMD-SHELL or NONE and name a command`);
  const ms = (ns: number | undefined, fallback: number): number => (ns === undefined || ns === 0 ? fallback : Math.max(1, Math.round(ns / NS_PER_MS)));
  return {
    test,
    intervalMs: ms(h.Interval, HEALTHCHECK_DEFAULTS.intervalMs),
    timeoutMs: ms(h.Timeout, HEALTHCHECK_DEFAULTS.timeoutMs),
    retries: h.Retries === undefined || h.Retries === 0 ? HEALTHCHECK_DEFAULTS.retries : h.Retries,
    startPeriodMs: ms(h.StartPeriod, HEALTHCHECK_DEFAULTS.startPeriodMs),
    startIntervalMs: ms(h.StartInterval, HEALTHCHECK_DEFAULTS.startIntervalMs),
  };
}

/**
 * The healthcheck a service runs: the spec's, else none when the spec disables it
 * (`disable: true` or `test: ["NONE"]`: pass `specDisabled`), else the image's.
 */
export function effectiveHealthcheck(
  specHealthcheck: Healthcheck | null,
  specDisabled: boolean,
  config: RunConfig | null | undefined,
  image: string,
): Healthcheck | null {
  if (specHealthcheck !== null) return specHealthcheck;
  if (specDisabled) return null;
  return imageHealthcheck(config, image);
}

/** A container path compared as Docker compares mount destinations: normalized, no trailing slash. */
function cleanTarget(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, '$1');
}

/**
 * The image's Volumes that no spec mount (bind, volume or tmpfs) covers: each becomes an
 * anonymous volume, as Docker makes them. Sorted; a relative path is BAD_IMAGE_CONFIG.
 */
export function anonymousVolumeTargets(specVolumes: readonly Mount[], config: RunConfig | null | undefined, image: string): string[] {
  const covered = new Set(specVolumes.map((m) => cleanTarget(m.target)));
  const out = new Set<string>();
  for (const target of Object.keys(config?.Volumes ?? {})) {
    if (target.includes('\0') || !target.startsWith('/')) throw badConfig(image, `Volumes entry ${JSON.stringify(target.slice(0, 200))} is not an absolute path`);
    const t = cleanTarget(target);
    if (t === '/') throw badConfig(image, 'Volumes names / itself');
    if (!covered.has(t)) out.add(t);
  }
  return [...out].sort();
}

/** One exposed port of an image. */
export interface ExposedPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

/** The image's ExposedPorts (`80/tcp`, `53/udp`, `8080`) for `ps`; keys that are not ports are left out. Sorted by port. */
export function exposedPorts(config: RunConfig | null | undefined): ExposedPort[] {
  const out = new Map<string, ExposedPort>();
  for (const key of Object.keys(config?.ExposedPorts ?? {})) {
    const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m) continue;
    const port = Number(m[1]);
    if (port < 1 || port > 65535) continue;
    const protocol = (m[2]?.toLowerCase() ?? 'tcp') as ExposedPort['protocol'];
    out.set(`${port}/${protocol}`, { port, protocol });
  }
  return [...out.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

// One service spec → the fully defaulted Service of the Project model.
import { constants } from 'node:os';
import { isAbsolute } from 'node:path';
import type { PullPolicy, DeviceMapping, Dependency, Develop, WatchExec, ExtraHost, Healthcheck, Limits, Mount, PortMapping, RestartPolicy, Service, ServiceNetwork } from './project.js';
import { DEVICE_SYNTAX, parseDevice } from './devices.js';
import { listOrDict, readServiceEnvFiles } from './environment.js';
import { viewOptions } from './view-options.js';
import { namespaceModes } from './namespace-modes.js';
import { processKeys } from './process-keys.js';
import { dnsKeys } from './dns-keys.js';
import { serviceHooks } from './hooks.js';
import { links } from './links.js';
import { sysctls } from './sysctls.js';
import { ulimits } from './ulimits.js';
import { scaleKeys } from './scale.js';
import { cgroupKeys } from './cgroup-keys.js';
import { parsePlatform } from './platform.js';
import { hostPath, parseMount, parseTmpfs, type LongMount, type MountContext } from './mounts.js';
import { parseLongPort, parseShortPort, PORT_SYNTAX } from './ports.js';
import { securityOptions, type SeccompProfileReader } from './security-opt.js';
import type { KeyPath } from './raw.js';
import type { ServiceSpec } from './schema.js';
import { splitWords } from './shellwords.js';
import { suggest } from './suggest.js';
import { UserError } from '../errors.js';
import { asBoolean, parseBytes, parseCpus, parseDuration, parseInteger } from './units.js';

/** What a service needs to know about the rest of the project. */
export interface ServiceContext extends MountContext {
  /** Keys of the project's top-level networks (plus `default`). */
  readonly networks: ReadonlySet<string>;
  /** Reads a `seccomp=FILE` profile (normalize.ts NormalizeOptions.seccompProfile). */
  readonly seccompProfile?: SeccompProfileReader | undefined;
}

/** Docker's healthcheck defaults (ms). */
export const HEALTHCHECK_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 } as const;

/** compose's default grace period between the stop signal and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** Normalizes service `name`; problems go to `ctx.report` and the result is then partial. */
export function normalizeService(name: string, spec: ServiceSpec, ctx: ServiceContext): Service {
  const at = (...rest: (string | number)[]): KeyPath => ['services', name, ...rest];
  const { report } = ctx;

  const words = (key: 'command' | 'entrypoint'): string[] | null => {
    const v = spec[key];
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return [...v];
    const split = splitWords(v as string);
    if (split.ok) return split.words;
    report.error(at(key), 'BAD_COMMAND', `cannot split \`${key}\` into words: ${split.reason}`, {
      hint: 'close the quote, or write the command as a list: ["prog", "arg"]',
    });
    return null;
  };

  const passThrough = (key: string) => ctx.env[key];
  const environment = {
    ...readServiceEnvFiles(spec.env_file, at('env_file'), ctx.workingDir, ctx.env, report),
    ...listOrDict(spec.environment, passThrough),
  };

  const ports: PortMapping[] = [];
  const portEntries: { index: number; mappings: readonly PortMapping[] }[] = [];
  (spec.ports ?? []).forEach((p, i) => {
    const r = typeof p === 'object' ? parseLongPort(p) : parseShortPort(p);
    if (r.ok) ports.push(...r.ports);
    if (r.ok) portEntries.push({ index: i, mappings: r.ports });
    else report.error(at('ports', i), 'BAD_PORT', `cannot read this port: ${r.reason}`, typeof p === 'object' ? {} : { expected: PORT_SYNTAX });
  });

  const expose = (spec.expose ?? []).map((e, i) => {
    const text = String(e);
    if (!/^\d+(-\d+)?(\/(tcp|udp))?$/.test(text)) report.error(at('expose', i), 'BAD_PORT', 'cannot read this port', { expected: 'PORT, PORT/udp or a range such as 8000-8010' });
    return text;
  });

  const mounts: Mount[] = [];
  (spec.volumes ?? []).forEach((v, i) => {
    const m = parseMount(v as string | LongMount, at('volumes', i), ctx);
    if (m) mounts.push(m);
  });
  const tmpfs = spec.tmpfs === undefined ? [] : typeof spec.tmpfs === 'string' ? [spec.tmpfs] : spec.tmpfs;
  tmpfs.forEach((t, i) => {
    const m = parseTmpfs(t, typeof spec.tmpfs === 'string' ? at('tmpfs') : at('tmpfs', i), ctx);
    if (m) mounts.push(m);
  });

  const devices: DeviceMapping[] = [];
  (spec.devices ?? []).forEach((d, i) => {
    const r = parseDevice(d);
    if (r.ok) devices.push(r.device);
    else report.error(at('devices', i), 'BAD_DEVICE', `cannot read this device: ${r.reason}`, typeof d === 'object' ? {} : { expected: DEVICE_SYNTAX });
  });

  if (spec.working_dir !== undefined && !isAbsolute(spec.working_dir)) {
    report.error(at('working_dir'), 'BAD_PATH', `\`${spec.working_dir}\` is not an absolute path`, { expected: 'an absolute path inside the service, e.g. /app' });
  }

  const service: Service = {
    name,
    ...(spec.image !== undefined ? { image: spec.image } : {}),
    ...(spec.build !== undefined ? { build: build(spec.build, at, ctx) } : {}),
    ...pullPolicy(spec.pull_policy, at, ctx),
    ...platform(spec.platform, at, ctx),
    ...(typeof spec.runtime === 'string' && spec.runtime !== '' ? { runtime: spec.runtime } : {}),
    entrypoint: words('entrypoint'),
    command: words('command'),
    environment: sortKeys(environment),
    ...(spec.working_dir !== undefined ? { workingDir: spec.working_dir } : {}),
    ...(spec.user !== undefined ? { user: String(spec.user) } : {}),
    hostname: spec.hostname ?? name,
    ...(spec.container_name !== undefined ? { containerName: spec.container_name } : {}),
    ...scaleKeys(spec, portEntries, at, report),
    ports,
    expose,
    volumes: mounts,
    networks: networks(spec, at, ctx),
    extraHosts: extraHosts(spec.extra_hosts, at, ctx),
    dependsOn: dependsOn(spec.depends_on),
    healthcheck: healthcheck(spec, at, ctx),
    healthcheckDisabled: healthcheckDisabled(spec.healthcheck),
    ...healthcheckTimings(spec),
    restart: restart(spec.restart),
    stopSignal: signal(spec.stop_signal === undefined ? undefined : String(spec.stop_signal), at, ctx),
    stopSignalSet: spec.stop_signal !== undefined,
    stopGracePeriodMs: spec.stop_grace_period === undefined ? DEFAULT_STOP_GRACE_MS : ok(parseDuration(spec.stop_grace_period), DEFAULT_STOP_GRACE_MS),
    init: asBoolean(spec.init, false),
    ...(asBoolean(spec.tty, false) && { tty: true as const }),
    ...(asBoolean(spec.stdin_open, false) && { stdinOpen: true as const }),
    readOnly: asBoolean(spec.read_only, false),
    capAdd: (spec.cap_add ?? []).map(capability),
    capDrop: (spec.cap_drop ?? []).map(capability),
    privileged: asBoolean(spec.privileged, false),
    devices,
    ...securityOptions(spec.security_opt, at, ctx),
    ...viewOptions(spec as Record<string, unknown>, at, report),
    ...namespaceModes(spec as Record<string, unknown>, at, report),
    ...optional('sysctls', sysctls(spec.sysctls, at, report)),
    ...optional('ulimits', ulimits(spec.ulimits, at, report)),
    ...processKeys(spec as Record<string, unknown>, at, report),
    ...dnsKeys(spec as Record<string, unknown>, at, report),
    ...optional('links', links(spec.links, at, report)),
    ...(spec.attach !== undefined && !asBoolean(spec.attach, true) ? { attach: false as const } : {}),
    ...optional('postStart', serviceHooks('post_start', spec.post_start, at, report, ctx.env)),
    ...optional('preStop', serviceHooks('pre_stop', spec.pre_stop, at, report, ctx.env)),
    limits: limits(spec, at, ctx),
    develop: develop(spec.develop, at, ctx),
    profiles: [...(spec.profiles ?? [])],
    labels: sortKeys(listOrDict(spec.labels, () => '')),
  };
  return service;
}

/** `{key: value}` when value is defined, else nothing (absent keys keep a service's hash unchanged). */
const optional = <K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: T }));

const ok = <T>(r: { ok: true; value: T } | { ok: false }, fallback: T): T => (r.ok ? r.value : fallback);

/** "did you mean" text for a misspelt name among `names`, if one is close. */
export function didYouMean(name: string, names: Iterable<string>): string | undefined {
  const near = suggest(name, names);
  return near ? `did you mean \`${near}\`?` : undefined;
}

/** A map with its keys sorted, so output and config hashes are stable. */
export function sortKeys<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function build(spec: NonNullable<ServiceSpec['build']>, service: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): NonNullable<Service['build']> {
  const context = (c: string) => (/^[a-z]+:\/\/|^git@|^github\.com\//.test(c) ? c : hostPath(c, ctx));
  if (typeof spec === 'string') return { context: context(spec), args: {} };
  const at = (...p: (string | number)[]): KeyPath => service('build', ...p);
  if (spec.dockerfile !== undefined && spec.dockerfile_inline !== undefined) {
    ctx.report.error(at('dockerfile_inline'), 'BUILD_CONFLICT', '`dockerfile` and `dockerfile_inline` are both set', { hint: 'keep one of them' });
  }
  let network: 'host' | 'none' | undefined;
  if (spec.network !== undefined) {
    if (spec.network === 'host' || spec.network === 'none') network = spec.network;
    else if (spec.network !== 'default') {
      ctx.report.error(at('network'), 'BUILD_NETWORK', `build network \`${spec.network}\` is not one stack can give a build`, {
        expected: 'host, none or default (the host\'s: stack runs no build network)',
        hint: 'a build\'s RUN steps use the host\'s network, or none with `network: none`',
      });
    }
  }
  const labels = spec.labels !== undefined ? sortKeys(listOrDict(spec.labels, () => undefined)) : undefined;
  return {
    context: context(spec.context ?? '.'),
    ...(spec.dockerfile !== undefined ? { dockerfile: spec.dockerfile } : {}),
    ...(spec.dockerfile_inline !== undefined ? { dockerfileInline: spec.dockerfile_inline } : {}),
    ...(spec.target !== undefined ? { target: spec.target } : {}),
    args: sortKeys(listOrDict(spec.args, (k) => ctx.env[k])),
    ...(labels !== undefined && Object.keys(labels).length > 0 ? { labels } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(asBoolean(spec.no_cache, false) ? { noCache: true as const } : {}),
    ...(asBoolean(spec.pull, false) ? { pull: true as const } : {}),
    ...(spec.tags !== undefined && spec.tags.length > 0 ? { tags: [...spec.tags] } : {}),
  };
}

function networks(spec: ServiceSpec, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): Record<string, ServiceNetwork> {
  const out: Record<string, ServiceNetwork> = {};
  const given = spec.networks;
  const entries: [string, { aliases?: string[] | undefined; ipv4_address?: string | undefined; priority?: number | undefined } | null][] =
    given === undefined ? [['default', null]] : Array.isArray(given) ? given.map((n) => [n, null]) : Object.entries(given);
  for (const [key, opts] of entries) {
    if (!ctx.networks.has(key)) {
      ctx.report.error(Array.isArray(given) ? at('networks', given.indexOf(key)) : at('networks', key), 'UNDEFINED_NETWORK', `network \`${key}\` is not declared under the top-level \`networks:\``, {
        hint: didYouMean(key, ctx.networks) ?? `add \`networks: {${key}: {}}\` at the top level`,
      });
      continue;
    }
    out[key] = {
      aliases: [...(opts?.aliases ?? [])],
      ...(opts?.ipv4_address !== undefined ? { ipv4Address: opts.ipv4_address } : {}),
      priority: opts?.priority ?? 0,
    };
  }
  return sortKeys(out);
}

function extraHosts(spec: ServiceSpec['extra_hosts'], at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): ExtraHost[] {
  if (spec === undefined) return [];
  if (!Array.isArray(spec)) {
    return Object.entries(spec as Record<string, string | string[]>).flatMap(([host, ips]) => (typeof ips === 'string' ? [ips] : ips).map((ip) => ({ host, ip })));
  }
  const out: ExtraHost[] = [];
  spec.forEach((entry, i) => {
    const m = /^([^:=\s]+)[:=](.+)$/.exec(entry);
    if (m) out.push({ host: m[1]!, ip: m[2]!.replace(/^\[(.*)\]$/, '$1') });
    else ctx.report.error(at('extra_hosts', i), 'BAD_EXTRA_HOST', 'cannot read this extra host', { expected: '"HOST:IP" or "HOST=IP" (IP may be host-gateway)' });
  });
  return out;
}

function dependsOn(spec: ServiceSpec['depends_on']): Record<string, Dependency> {
  if (spec === undefined) return {};
  const out: Record<string, Dependency> = {};
  if (Array.isArray(spec)) for (const name of spec) out[name] = { condition: 'service_started', required: true, restart: false };
  else {
    for (const [name, d] of Object.entries(spec)) {
      out[name] = { condition: d.condition, required: asBoolean(d.required, true), restart: asBoolean(d.restart, false) };
    }
  }
  return sortKeys(out);
}

function healthcheck(spec: ServiceSpec, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): Healthcheck | null {
  const h = spec.healthcheck;
  if (h === undefined || asBoolean(h.disable, false)) return null;
  let test: string[];
  if (h.test === undefined) {
    if (spec.image === undefined) {
      ctx.report.error(at('healthcheck'), 'MISSING_KEY', 'a healthcheck needs a `test`', { expected: 'test: ["CMD", "prog", "arg"] or test: "shell command"', found: 'no test' });
    } else {
      // The image's test, with the timings given here (image/resolve.ts merges them, as Docker does).
    }
    return null;
  }
  if (typeof h.test === 'string') test = ['CMD-SHELL', h.test];
  else {
    const [kind, ...rest] = h.test;
    if (kind === 'NONE') return null;
    if (kind === 'CMD' && rest.length > 0) test = ['CMD', ...rest];
    else if (kind === 'CMD-SHELL' && rest.length > 0) test = ['CMD-SHELL', rest.join(' ')];
    else {
      ctx.report.error(at('healthcheck', 'test'), 'BAD_HEALTHCHECK', 'a healthcheck test list must start with CMD, CMD-SHELL or NONE and name a command', {
        expected: '["CMD", "prog", "arg"], ["CMD-SHELL", "script"] or ["NONE"]',
      });
      return null;
    }
  }
  const ms = (v: number | string | undefined, fallback: number) => (v === undefined ? fallback : ok(parseDuration(v), fallback));
  return {
    test,
    intervalMs: ms(h.interval, HEALTHCHECK_DEFAULTS.intervalMs),
    timeoutMs: ms(h.timeout, HEALTHCHECK_DEFAULTS.timeoutMs),
    retries: h.retries === undefined ? HEALTHCHECK_DEFAULTS.retries : ok(parseInteger(h.retries), HEALTHCHECK_DEFAULTS.retries),
    startPeriodMs: ms(h.start_period, HEALTHCHECK_DEFAULTS.startPeriodMs),
    startIntervalMs: ms(h.start_interval, HEALTHCHECK_DEFAULTS.startIntervalMs),
  };
}

/** An image service's `healthcheck:` without `test`: the timings it gives, laid over the image's healthcheck. */
function healthcheckTimings(spec: ServiceSpec): Pick<Service, 'healthcheckTimings'> {
  const h = spec.healthcheck;
  if (h === undefined || h.test !== undefined || spec.image === undefined || asBoolean(h.disable, false)) return {};
  const ms = (v: number | string | undefined) => (v === undefined ? undefined : ok(parseDuration(v), undefined as number | undefined));
  const retries = h.retries === undefined ? undefined : ok(parseInteger(h.retries), undefined as number | undefined);
  const timings = {
    ...(ms(h.interval) !== undefined && { intervalMs: ms(h.interval)! }),
    ...(ms(h.timeout) !== undefined && { timeoutMs: ms(h.timeout)! }),
    ...(retries !== undefined && { retries }),
    ...(ms(h.start_period) !== undefined && { startPeriodMs: ms(h.start_period)! }),
    ...(ms(h.start_interval) !== undefined && { startIntervalMs: ms(h.start_interval)! }),
  };
  return Object.keys(timings).length > 0 ? { healthcheckTimings: timings } : {};
}

/** `disable: true` or `test: ["NONE"]`: no healthcheck, not even the image's. */
function healthcheckDisabled(h: ServiceSpec['healthcheck']): boolean {
  if (h === undefined) return false;
  return asBoolean(h.disable, false) || (Array.isArray(h.test) && h.test[0] === 'NONE');
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * `pull_policy:` as compose reads it: `always`, `never`, `missing` (= `if_not_present`), the
 * refresh forms `daily`, `weekly`, `every_<duration>`, and `build` (built on every `up`).
 */
function pullPolicy(spec: string | undefined, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): { pullPolicy?: PullPolicy } {
  if (spec === undefined) return {};
  const expected = 'always, missing, if_not_present, never, build, daily, weekly or every_<duration> (e.g. every_12h)';
  if (spec === 'always' || spec === 'missing' || spec === 'never') return { pullPolicy: spec };
  if (spec === 'if_not_present') return { pullPolicy: 'missing' };
  if (spec === 'daily') return { pullPolicy: { refreshAfterMs: DAY_MS } };
  if (spec === 'weekly') return { pullPolicy: { refreshAfterMs: 7 * DAY_MS } };
  if (spec.startsWith('every_')) {
    const d = parseDuration(spec.slice('every_'.length));
    if (d.ok && d.value > 0) return { pullPolicy: { refreshAfterMs: d.value } };
    ctx.report.error(at('pull_policy'), 'BAD_PULL_POLICY', `cannot read the duration in \`${spec}\``, { expected: 'every_<duration>, e.g. every_12h or every_30m' });
    return {};
  }
  if (spec === 'build') return { pullPolicy: 'build' };
  ctx.report.error(at('pull_policy'), 'BAD_PULL_POLICY', `unknown pull policy \`${spec}\``, { expected });
  return {};
}

/** `platform:` parsed as Docker does; a bad one is BAD_PLATFORM at the key. */
function platform(spec: string | undefined, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): Pick<Service, 'platform'> {
  if (typeof spec !== 'string') return {}; // absent, or a type error validation reports
  try {
    return { platform: parsePlatform(spec) };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    ctx.report.error(at('platform'), 'BAD_PLATFORM', e.message, { expected: 'os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8' });
    return {};
  }
}

function restart(spec: string | undefined): RestartPolicy {
  if (spec === undefined || spec === 'no') return { kind: 'no' };
  if (spec === 'always' || spec === 'unless-stopped') return { kind: spec };
  const n = /^on-failure:(\d+)$/.exec(spec);
  return n ? { kind: 'on-failure', maxRetries: Number(n[1]) } : { kind: 'on-failure' };
}

function signal(spec: string | undefined, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): string {
  if (spec === undefined) return 'SIGTERM';
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(spec)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(spec));
    if (name) return name;
  } else {
    const name = spec.startsWith('SIG') ? spec : `SIG${spec}`;
    if (name in signals) return name;
  }
  ctx.report.error(at('stop_signal'), 'BAD_SIGNAL', `\`${spec}\` is not a signal`, { expected: 'a signal name such as SIGTERM, SIGINT or SIGQUIT', hint: '`kill -l` lists the signal names' });
  return 'SIGTERM';
}

function capability(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/** Docker's least memory limit (linuxMinMemory): a process given less is killed as it starts. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

// mem_limit/cpus/pids_limit and deploy.resources.limits: either may be given; both must agree.
function limits(spec: ServiceSpec, at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): Limits {
  const deploy = spec.deploy?.resources?.limits;
  const pick = (
    short: 'mem_limit' | 'cpus' | 'pids_limit',
    long: 'memory' | 'cpus' | 'pids',
    parse: (v: unknown) => { ok: true; value: number } | { ok: false },
  ): number | undefined => {
    const a = spec[short] === undefined ? undefined : ok(parse(spec[short]), undefined as number | undefined);
    const b = deploy?.[long] === undefined ? undefined : ok(parse(deploy[long]), undefined as number | undefined);
    if (a !== undefined && b !== undefined && a !== b) {
      ctx.report.error(at(short), 'CONFLICT', `\`${short}\` and \`deploy.resources.limits.${long}\` disagree`, {
        found: `${String(spec[short])} and ${String(deploy?.[long])}`,
        hint: 'keep only one of them',
      });
    }
    return a ?? b;
  };
  const memoryBytes = pick('mem_limit', 'memory', parseBytes);
  if (memoryBytes !== undefined && memoryBytes > 0 && memoryBytes < MIN_MEMORY_BYTES) {
    const key = spec.mem_limit !== undefined ? at('mem_limit') : at('deploy', 'resources', 'limits', 'memory');
    ctx.report.error(key, 'BAD_SIZE', `a memory limit of ${memoryBytes} bytes is below the 6 MiB a service needs to start`, {
      expected: 'at least 6m (Docker refuses less too)',
      hint: 'raise it, or remove it for no limit: below, the kernel kills the service as it starts (out of memory)',
    });
  }
  const cpus = pick('cpus', 'cpus', parseCpus);
  const pids = pick('pids_limit', 'pids', parseInteger);
  const extra = cgroupKeys(spec as Record<string, unknown>, memoryBytes, at, ctx.report);
  return {
    ...(memoryBytes !== undefined && memoryBytes > 0 ? { memoryBytes } : {}),
    ...(cpus !== undefined && cpus > 0 ? { cpus } : {}),
    // pids_limit -1 or 0 lifts the limit (Docker: "0 or -1 for unlimited"); absent, the default applies.
    ...(pids !== undefined ? { pids: pids > 0 ? pids : -1 } : {}),
    ...extra,
  };
}

function develop(spec: ServiceSpec['develop'], at: (...p: (string | number)[]) => KeyPath, ctx: ServiceContext): Develop | null {
  if (spec === undefined || spec === null) return null;
  (spec.watch ?? []).forEach((w, i) => {
    if (w.action.startsWith('sync') && w.target === undefined) {
      ctx.report.error(at('develop', 'watch', i), 'MISSING_KEY', `a \`${w.action}\` rule needs a \`target\``, {
        expected: 'target: the folder inside the service that mirrors `path`',
        found: 'no target',
      });
    } else if (w.target !== undefined && !isAbsolute(w.target)) {
      ctx.report.error(at('develop', 'watch', i, 'target'), 'BAD_PATH', `\`${w.target}\` is not an absolute path`, { expected: 'an absolute path inside the service, e.g. /app/src' });
    }
    if (w.action === 'sync+exec' && w.exec === undefined) {
      ctx.report.error(at('develop', 'watch', i), 'MISSING_KEY', 'a `sync+exec` rule needs an `exec`', {
        expected: 'exec: {command: ...}: what to run in the service after each copy',
        found: 'no exec',
      });
    }
  });
  const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);
  return {
    watch: (spec.watch ?? []).map((w, i) => {
      const exec = w.exec;
      let hook: WatchExec | undefined;
      if (exec) {
        const command = exec.command === null ? null : Array.isArray(exec.command) ? [...exec.command] : splitWords(exec.command);
        const words = command === null ? [] : Array.isArray(command) ? command : command.ok ? command.words : [];
        if (command !== null && !Array.isArray(command) && !command.ok) {
          ctx.report.error(at('develop', 'watch', i, 'exec', 'command'), 'BAD_COMMAND', `cannot split \`command\` into words: ${command.reason}`, {
            hint: 'close the quote, or write the command as a list: ["prog", "arg"]',
          });
        } else if (words.length === 0) {
          ctx.report.error(at('develop', 'watch', i, 'exec', 'command'), 'MISSING_KEY', 'the exec of a watch rule needs a command', { expected: 'a command as a string or a list of strings' });
        }
        hook = {
          command: words,
          ...(exec.user !== undefined && { user: String(exec.user) }),
          privileged: asBoolean(exec.privileged, false),
          ...(exec.working_dir !== undefined && { workingDir: exec.working_dir }),
          environment: listOrDict(exec.environment, (key) => ctx.env[key]),
        };
      }
      return {
        path: hostPath(w.path, ctx),
        action: w.action,
        ...(w.target !== undefined ? { target: w.target } : {}),
        ignore: list(w.ignore),
        include: list(w.include),
        initialSync: asBoolean(w.initial_sync, false),
        ...(hook && { exec: hook }),
      };
    }),
  };
}

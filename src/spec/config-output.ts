// `stack config`: the normalized project printed back as a compose document (YAML or JSON),
// the way `docker compose config` shows what it will run: long syntax, absolute paths,
// resolved environment. Values equal to compose's defaults are left out, as compose does.
import { formatPlatform } from './platform.js';
import { stringify } from 'yaml';
import type { Mount, Network, Project, SecretDef, SecretMount, Service, Volume, WatchExec } from './project.js';
import { formatDuration } from './units.js';
import { modeText } from './namespace-modes.js';

/** Output formats of `stack config`. */
export type ConfigFormat = 'yaml' | 'json';

/** The project as a plain compose-style document. */
export function configDocument(project: Project): Record<string, unknown> {
  return {
    name: project.name,
    services: mapValues(project.services, service),
    ...(Object.keys(project.networks).length > 0 ? { networks: mapValues(project.networks, network) } : {}),
    ...(Object.keys(project.volumes).length > 0 ? { volumes: mapValues(project.volumes, volume) } : {}),
    ...(project.secrets ? { secrets: mapValues(project.secrets, secretDef) } : {}),
    ...(project.configs ? { configs: mapValues(project.configs, secretDef) } : {}),
  };
}

/** The project as text in `format`, ending with a newline. */
export function renderConfig(project: Project, format: ConfigFormat = 'yaml'): string {
  return renderDocument(configDocument(project), format);
}

/** A plain document as text in `format`, ending with a newline. */
export function renderDocument(doc: Record<string, unknown>, format: ConfigFormat = 'yaml'): string {
  // YAML 1.1 rules for quoting: strings such as yes, on or 3:30 come out quoted, so readers of
  // either YAML version get strings back.
  return format === 'json' ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

function mapValues<T>(map: Readonly<Record<string, T>>, f: (v: T) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, f(v)]));
}

// Keeps only the entries that say something: no undefined, no empty list or map, no `false`.
function compact(entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

function service(s: Service): Record<string, unknown> {
  // `attach: false` says something though compact() drops false values.
  return { ...serviceKeys(s), ...(s.attach === false && { attach: false }) };
}

function serviceKeys(s: Service): Record<string, unknown> {
  const limits = compact({ cpus: s.limits.cpus, memory: s.limits.memoryBytes, pids: s.limits.pids });
  return compact({
    build: s.build
      ? compact({
          context: s.build.context,
          dockerfile: s.build.dockerfile,
          dockerfile_inline: s.build.dockerfileInline,
          target: s.build.target,
          args: s.build.args,
          labels: s.build.labels,
          network: s.build.network,
          no_cache: s.build.noCache,
          pull: s.build.pull,
          tags: s.build.tags,
          secrets: s.build.secrets?.map((r) => (r.id === r.source ? r.source : { source: r.source, target: r.id })),
        })
      : undefined,
    cap_add: s.capAdd,
    cap_drop: s.capDrop,
    devices: s.devices.length > 0 ? s.devices.map((d) => ({ source: d.source, target: d.target, permissions: d.permissions })) : undefined,
    privileged: s.privileged || undefined,
    security_opt: s.securityOpt.length > 0 ? s.securityOpt : undefined,
    command: s.command ?? undefined,
    container_name: s.containerName,
    scale: s.scale,
    depends_on: mapValues(s.dependsOn, (d) => ({ condition: d.condition, required: d.required, restart: d.restart })),
    deploy: Object.keys(limits).length > 0 || s.global ? compact({ mode: s.global ? 'global' : undefined, resources: Object.keys(limits).length > 0 ? { limits } : undefined }) : undefined,
    develop: s.develop
      ? {
          watch: s.develop.watch.map((w) =>
            compact({
              path: w.path,
              action: w.action,
              target: w.target,
              ignore: w.ignore,
              include: w.include.length > 0 ? w.include : undefined,
              initial_sync: w.initialSync || undefined,
              exec: w.exec
                ? compact({ command: w.exec.command, user: w.exec.user, privileged: w.exec.privileged || undefined, working_dir: w.exec.workingDir, environment: w.exec.environment })
                : undefined,
            }),
          ),
        }
      : undefined,
    entrypoint: s.entrypoint ?? undefined,
    environment: s.environment,
    expose: s.expose,
    extra_hosts: s.extraHosts.map((h) => `${h.host}=${h.ip}`),
    healthcheck: s.healthcheck ? {
      test: s.healthcheck.test,
      interval: formatDuration(s.healthcheck.intervalMs),
      timeout: formatDuration(s.healthcheck.timeoutMs),
      retries: s.healthcheck.retries,
      start_period: formatDuration(s.healthcheck.startPeriodMs),
      start_interval: formatDuration(s.healthcheck.startIntervalMs),
    } : s.healthcheckDisabled ? { disable: true } : s.healthcheckTimings ? compact({
      interval: s.healthcheckTimings.intervalMs === undefined ? undefined : formatDuration(s.healthcheckTimings.intervalMs),
      timeout: s.healthcheckTimings.timeoutMs === undefined ? undefined : formatDuration(s.healthcheckTimings.timeoutMs),
      retries: s.healthcheckTimings.retries,
      start_period: s.healthcheckTimings.startPeriodMs === undefined ? undefined : formatDuration(s.healthcheckTimings.startPeriodMs),
      start_interval: s.healthcheckTimings.startIntervalMs === undefined ? undefined : formatDuration(s.healthcheckTimings.startIntervalMs),
    }) : undefined,
    // A sharer's hostname is its owner's (namespace-modes.ts), not something its spec says.
    hostname: s.hostname === s.name || s.networkMode?.kind === 'service' ? undefined : s.hostname,
    image: s.image,
    platform: s.platform === undefined ? undefined : formatPlatform(s.platform),
    runtime: s.runtime,
    links: s.links?.map((l) => (l.alias === l.service ? l.service : `${l.service}:${l.alias}`)),
    post_start: s.postStart?.map(hookDocument),
    pre_stop: s.preStop?.map(hookDocument),
    init: s.init,
    tty: s.tty,
    stdin_open: s.stdinOpen,
    labels: s.labels,
    networks: mapValues(s.networks, (n) => {
      const opts = compact({ aliases: n.aliases, ipv4_address: n.ipv4Address, priority: n.priority || undefined });
      return Object.keys(opts).length > 0 ? opts : null;
    }),
    ports: s.ports.map((p) => ({ target: p.containerPort, ...(p.hostPort ? { published: p.hostPortEnd !== undefined ? `${p.hostPort}-${p.hostPortEnd}` : String(p.hostPort) } : {}), host_ip: p.hostIp, protocol: p.protocol })),
    profiles: s.profiles,
    pull_policy: s.pullPolicy === undefined ? undefined : typeof s.pullPolicy === 'string' ? s.pullPolicy : `every_${formatDuration(s.pullPolicy.refreshAfterMs)}`,
    read_only: s.readOnly,
    restart: s.restart.kind === 'no' ? undefined : s.restart.kind === 'on-failure' && s.restart.maxRetries !== undefined ? `on-failure:${s.restart.maxRetries}` : s.restart.kind,
    stop_grace_period: s.stopGracePeriodMs === 10_000 ? undefined : formatDuration(s.stopGracePeriodMs),
    stop_signal: s.stopSignal === 'SIGTERM' ? undefined : s.stopSignal,
    user: s.user,
    sysctls: s.sysctls,
    ulimits: s.ulimits === undefined ? undefined : mapValues(s.ulimits, (u) => (u.soft === u.hard ? u.soft : { soft: u.soft, hard: u.hard })),
    oom_score_adj: s.oomScoreAdj,
    domainname: s.domainname,
    group_add: s.groupAdd,
    cpu_shares: s.limits.cpuShares,
    cpuset: s.limits.cpuset,
    mem_reservation: s.limits.memoryReservationBytes,
    memswap_limit: s.limits.memswapBytes,
    dns: s.dns,
    dns_search: s.dnsSearch,
    dns_opt: s.dnsOpt,
    volumes: s.volumes.map(mount),
    secrets: s.secrets?.map(secretRef),
    configs: s.configs?.map(secretRef),
    working_dir: s.workingDir,
    network_mode: modeText(s.networkMode),
    pid: modeText(s.pidMode),
    ipc: modeText(s.ipcMode),
    volumes_from: s.volumesFrom?.map((v) => `${v.service}:${v.mode}`),
  });
}

function hookDocument(h: WatchExec): Record<string, unknown> {
  return compact({ command: h.command, user: h.user, privileged: h.privileged || undefined, working_dir: h.workingDir, environment: h.environment });
}

function mount(m: Mount): Record<string, unknown> {
  switch (m.type) {
    case 'bind':
      return compact({ type: 'bind', source: m.source, target: m.target, read_only: m.readOnly, bind: m.createHostPath ? { create_host_path: true } : undefined });
    case 'volume':
      return compact({ type: 'volume', source: m.source, target: m.target, read_only: m.readOnly, volume: m.noCopy ? { nocopy: true } : undefined });
    case 'tmpfs':
      return compact({ type: 'tmpfs', target: m.target, read_only: m.readOnly, tmpfs: compact({ size: m.sizeBytes, mode: m.mode?.toString(8) }) });
  }
}

function network(n: Network): Record<string, unknown> {
  return compact({
    name: n.name,
    driver_opts: n.driverOpts,
    external: n.external,
    internal: n.internal,
    ipam: n.ipam.length > 0 ? { config: n.ipam.map((c) => compact({ subnet: c.subnet, gateway: c.gateway, ip_range: c.ipRange })) } : undefined,
    labels: n.labels,
    'x-stack-allow-link-local': n.allowLinkLocal,
  });
}

// The source as written (a variable's name, never its value; content as given in the spec).
function secretDef(d: SecretDef): Record<string, unknown> {
  const src = d.source;
  return compact({
    name: d.name,
    file: src.type === 'file' ? src.path : undefined,
    environment: src.type === 'environment' ? src.variable : undefined,
    content: src.type === 'content' ? src.content : undefined,
    external: src.type === 'external' || undefined,
  });
}

function secretRef(m: SecretMount): Record<string, unknown> {
  return compact({ source: m.source, target: m.target, uid: m.uid?.toString(), gid: m.gid?.toString(), mode: m.mode === undefined ? undefined : `0${m.mode.toString(8)}` });
}

function volume(v: Volume): Record<string, unknown> {
  // A bind's device as resolved (compose-go makes it absolute too).
  const driverOpts = v.driverOpts && v.mount?.kind === 'bind' ? { ...v.driverOpts, device: v.mount.device } : v.driverOpts;
  return compact({ name: v.name, driver_opts: driverOpts, external: v.external, labels: v.labels });
}

// The catalogue of every compose-spec key, level by level, and what stack does with it.
// Validation consults it for each key the schema does not accept: a cosmetic key warns, an
// unsupported one is an error that names it, anything else is unknown ("did you mean ...").
import type { KeyPath } from './raw.js';

/**
 * - supported: stack acts on it (and the zod schema describes it)
 * - modelled: accepted and kept in the Project, but `plan`/`up` refuse it for now (image, build)
 * - unsupported: a real compose key stack does not act on yet: an error naming it
 * - cosmetic: changes nothing for stack: a warning
 */
export type KeyStatus = 'supported' | 'modelled' | 'unsupported' | 'cosmetic';

/** The kinds of objects a spec is made of, each with its own set of keys. */
export type Level =
  | 'top'
  | 'service'
  | 'build'
  | 'extends'
  | 'healthcheck'
  | 'deploy'
  | 'resources'
  | 'limits'
  | 'develop'
  | 'watch'
  | 'hook'
  | 'port'
  | 'mount'
  | 'mountBind'
  | 'mountVolume'
  | 'mountTmpfs'
  | 'device'
  | 'serviceNetwork'
  | 'dependency'
  | 'envFile'
  | 'network'
  | 'ipam'
  | 'ipamConfig'
  | 'volume'
  | 'secret'
  | 'config'
  | 'serviceSecret';

type Catalogue = Readonly<Record<Level, Readonly<Record<string, KeyStatus>>>>;

const S = 'supported' as const;
const M = 'modelled' as const;
const U = 'unsupported' as const;
const C = 'cosmetic' as const;

const all = (status: KeyStatus, keys: string) => Object.fromEntries(keys.split(/\s+/).filter(Boolean).map((k) => [k, status]));

/** Every compose-spec key (compose-spec.schema.json), per level, with what stack does with it. */
export const KEYS: Catalogue = {
  top: { ...all(S, 'name services networks volumes include secrets configs'), version: C, ...all(U, 'models') },
  service: {
    ...all(
      S,
      `command entrypoint environment env_file working_dir user hostname ports expose volumes tmpfs
       networks extra_hosts depends_on healthcheck restart stop_signal stop_grace_period init read_only
       cap_add cap_drop mem_limit cpus pids_limit deploy develop profiles container_name labels extends tty stdin_open
       security_opt shm_size privileged devices secrets configs network_mode pid ipc sysctls ulimits oom_score_adj domainname group_add dns dns_search dns_opt cpu_shares cpuset mem_reservation memswap_limit volumes_from`,
    ),
    ...all(S, 'image platform pull_policy runtime post_start pre_stop links attach scale'),
    build: S,
    ...all(C, 'pull_refresh_after logging annotations'),
    ...all(
      U,
      `blkio_config cgroup cgroup_parent cpu_count cpu_percent
       cpu_quota cpu_period cpu_rt_period cpu_rt_runtime credential_spec device_cgroup_rules
       label_file provider external_links gpus
       isolation mac_address mem_swappiness
       models oom_kill_disable
       storage_opt use_api_socket uts userns_mode`,
    ),
  },
  build: {
    ...all(S, 'context dockerfile dockerfile_inline target args labels network no_cache pull tags secrets'),
    ...all(
      U,
      `entitlements ssh cache_from cache_to additional_contexts
       provenance sbom shm_size extra_hosts isolation privileged ulimits platforms`,
    ),
  },
  extends: all(S, 'service file'),
  healthcheck: all(S, 'test interval timeout retries start_period start_interval disable'),
  deploy: { ...all(S, 'mode resources replicas'), ...all(U, 'endpoint_mode labels rollback_config update_config restart_policy placement') },
  resources: { limits: S, reservations: U },
  limits: all(S, 'cpus memory pids'),
  develop: { watch: S },
  watch: all(S, 'path action target ignore include exec initial_sync'),
  hook: all(S, 'command user privileged working_dir environment'),
  port: { ...all(S, 'target published host_ip protocol'), ...all(C, 'name app_protocol mode') },
  mount: { ...all(S, 'type source target read_only bind volume tmpfs'), consistency: C, image: U },
  mountBind: { create_host_path: S, ...all(U, 'propagation recursive selinux') },
  mountVolume: { nocopy: S, ...all(U, 'labels subpath') },
  mountTmpfs: all(S, 'size mode'),
  device: all(S, 'source target permissions'),
  serviceNetwork: {
    ...all(S, 'aliases ipv4_address priority'),
    ...all(U, 'interface_name ipv6_address link_local_ips mac_address driver_opts gw_priority'),
  },
  dependency: all(S, 'condition required restart'),
  envFile: { ...all(S, 'path required'), format: U },
  network: { ...all(S, 'name driver driver_opts internal ipam external labels'), ...all(U, 'enable_ipv4 enable_ipv6 attachable') },
  ipam: { ...all(S, 'config driver'), options: U },
  ipamConfig: { ...all(S, 'subnet gateway ip_range'), aux_addresses: U },
  volume: all(S, 'name driver driver_opts external labels'),
  secret: { ...all(S, 'name file environment external'), labels: C, ...all(U, 'driver driver_opts template_driver') },
  config: { ...all(S, 'name file environment content external'), labels: C, ...all(U, 'template_driver') },
  serviceSecret: all(S, 'source target uid gid mode'),
};

/** Why stack refuses an unsupported key, where there is more to say than "not yet" (the error's hint). */
export const UNSUPPORTED_REASONS: Readonly<Record<string, string>> = {
  external_links:
    'stack has no containers outside its projects to link to: to reach a service of another project, join that project\'s network (`networks: {NAME: {external: true}}`) and use the service\'s name there',
};

/** Why a cosmetic key changes nothing, shown as the warning's hint. */
export const COSMETIC_REASONS: Readonly<Record<string, string>> = {
  version: 'compose ignores it too; it can be removed',
  pull_refresh_after: 'stack pulls as `pull_policy` says; use `daily`, `weekly` or `every_<duration>` there',
  logging: "stack writes each service's output to its own log file",
  annotations: 'stack keeps no per-container metadata besides labels',
  labels: 'stack keeps no metadata on secrets and configs',
};

// Where each level sits in a document; `*` matches any key or index.
const PLACES: readonly [Level, readonly string[]][] = [
  ['top', []],
  ['service', ['services', '*']],
  ['build', ['services', '*', 'build']],
  ['extends', ['services', '*', 'extends']],
  ['healthcheck', ['services', '*', 'healthcheck']],
  ['deploy', ['services', '*', 'deploy']],
  ['resources', ['services', '*', 'deploy', 'resources']],
  ['limits', ['services', '*', 'deploy', 'resources', 'limits']],
  ['develop', ['services', '*', 'develop']],
  ['watch', ['services', '*', 'develop', 'watch', '*']],
  ['hook', ['services', '*', 'develop', 'watch', '*', 'exec']],
  ['hook', ['services', '*', 'post_start', '*']],
  ['hook', ['services', '*', 'pre_stop', '*']],
  ['port', ['services', '*', 'ports', '*']],
  ['mount', ['services', '*', 'volumes', '*']],
  ['mountBind', ['services', '*', 'volumes', '*', 'bind']],
  ['mountVolume', ['services', '*', 'volumes', '*', 'volume']],
  ['mountTmpfs', ['services', '*', 'volumes', '*', 'tmpfs']],
  ['device', ['services', '*', 'devices', '*']],
  ['serviceNetwork', ['services', '*', 'networks', '*']],
  ['dependency', ['services', '*', 'depends_on', '*']],
  ['envFile', ['services', '*', 'env_file', '*']],
  ['network', ['networks', '*']],
  ['ipam', ['networks', '*', 'ipam']],
  ['ipamConfig', ['networks', '*', 'ipam', 'config', '*']],
  ['volume', ['volumes', '*']],
  ['secret', ['secrets', '*']],
  ['config', ['configs', '*']],
  ['serviceSecret', ['services', '*', 'secrets', '*']],
  ['serviceSecret', ['services', '*', 'configs', '*']],
];

/** The level of the object at `path`, or undefined for maps of free keys (environment, labels). */
export function levelAt(path: KeyPath): Level | undefined {
  for (const [level, place] of PLACES) {
    if (place.length === path.length && place.every((p, i) => p === '*' || p === path[i])) return level;
  }
  return undefined;
}

/** Keys stack accepts at a level (what the zod schema must describe). */
export function acceptedKeys(level: Level): string[] {
  return Object.entries(KEYS[level])
    .filter(([, s]) => s === 'supported' || s === 'modelled')
    .map(([k]) => k);
}

/** Keys at a level that load with a warning only. */
export function cosmeticKeys(level: Level): string[] {
  return Object.entries(KEYS[level])
    .filter(([, s]) => s === 'cosmetic')
    .map(([k]) => k);
}

/** What stack does with `key` at `level`, or undefined when no compose spec defines it. */
export function keyStatus(level: Level, key: string): KeyStatus | undefined {
  return Object.hasOwn(KEYS[level], key) ? KEYS[level][key] : undefined;
}

/** Extension keys (`x-...`) are allowed wherever compose allows them, and ignored. */
export function isExtensionKey(key: string): boolean {
  return key.startsWith('x-');
}

/** How a level is named in messages. */
export function describeLevel(name: Level): string {
  const names: Record<Level, string> = {
    top: 'the top level of the spec',
    service: 'a service',
    build: 'build',
    extends: 'extends',
    healthcheck: 'a healthcheck',
    deploy: 'deploy',
    resources: 'deploy.resources',
    limits: 'deploy.resources.limits',
    develop: 'develop',
    watch: 'a develop.watch rule',
    hook: 'a command to run in the service (exec)',
    port: 'a port (long syntax)',
    mount: 'a volume mount (long syntax)',
    mountBind: 'bind options',
    mountVolume: 'volume options',
    mountTmpfs: 'tmpfs options',
    device: 'a device (long syntax)',
    serviceNetwork: "a service's network",
    dependency: 'a dependency',
    envFile: 'an env_file entry',
    network: 'a network',
    ipam: 'ipam',
    ipamConfig: 'an ipam.config entry',
    volume: 'a volume',
    secret: 'a secret',
    config: 'a config',
    serviceSecret: 'a secret or config of the service (long syntax)',
  };
  return names[name];
}

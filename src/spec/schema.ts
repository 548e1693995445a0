// The zod schema of what stack accepts in a spec: the structure of every supported and
// modelled compose key. Validation maps its issues to our own Diagnostics (never zod's
// messages), and scripts/gen-schema.mjs turns it into schema/stack.schema.json for editors.
import { z } from '../zod.js';
import { CPUS_FORMAT, DURATION_FORMAT, SIZE_FORMAT } from './units.js';
import { KEY_DOCS } from './key-docs.js';
import { cosmeticKeys, describeLevel, type Level } from './keys.js';

/** Marks a message that is an "expected" text of ours rather than a zod message. */
export const EXPECTED_MARK = '\u0000expected:';

const expecting = (text: string) => ({ error: () => EXPECTED_MARK + text });

/** Which catalogue level each strict object is (for JSON Schema `x-` keys and cosmetic keys). */
export const levels = z.registry<{ level: Level }>();

/** Every strict object with its level, so a test can hold the schema and the catalogue together. */
export const levelSchemas: [Level, z.ZodObject][] = [];

// A strict object of one catalogue level: unknown keys are issues (validation forgives `x-*`).
function level<T extends z.core.$ZodLooseShape>(name: Level, shape: T) {
  const schema = z.strictObject(shape, expecting(`a mapping (${name === 'top' ? 'the spec' : describeLevel(name)})`));
  levels.add(schema, { level: name });
  levelSchemas.push([name, schema]);
  return schema;
}

const str = z.string();
const strings = z.array(z.string(), expecting('a list of strings'));
const stringOrList = z.union([z.string(), z.array(z.string())], expecting('a string or a list of strings'));
// A scalar written as a number or as a string (interpolated values are strings): every part
// carries the same "expected" text, so a refusal reads the same whichever part refused.
function numberOrString(text: string, num: z.ZodNumber, pattern: RegExp) {
  return z.union([num, z.string().regex(pattern, expecting(text))], expecting(text));
}
const INT_TEXT = 'a whole number';
const bool = z.union(
  [z.boolean(), z.string().regex(/^(true|false|yes|no|on|off|y|n|True|False|TRUE|FALSE)$/, expecting('true or false'))],
  expecting('true or false'),
);
const integer = numberOrString(INT_TEXT, z.number().int(expecting(INT_TEXT)), /^\s*-?\d+\s*$/);
const PORT_TEXT = 'a port number (0-65535) or a range such as 8000-8010';
const port = numberOrString(PORT_TEXT, z.number(expecting(PORT_TEXT)).int(expecting(PORT_TEXT)).min(0, expecting(PORT_TEXT)).max(65535, expecting(PORT_TEXT)), /^\d+(-\d+)?$/);
const duration = numberOrString(
  DURATION_FORMAT,
  z.number(expecting(DURATION_FORMAT)).nonnegative(expecting(DURATION_FORMAT)),
  /^\s*(\d+(\.\d+)?|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)\s*$/,
);
const bytes = numberOrString(
  SIZE_FORMAT,
  z.number(expecting(SIZE_FORMAT)).int(expecting(SIZE_FORMAT)).nonnegative(expecting(SIZE_FORMAT)),
  /^\s*\d+(\.\d+)? ?[kmgtpKMGTP]?[iI]?[bB]?\s*$/,
);
const cpus = numberOrString(CPUS_FORMAT, z.number(expecting(CPUS_FORMAT)).nonnegative(expecting(CPUS_FORMAT)), /^\s*(\d+(\.\d*)?|\.\d+)\s*$/);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], expecting('a string, number, boolean or null'));
/** `KEY: value` mapping or `KEY=value` list (environment, labels, build args). */
const listOrDict = z.union([z.record(z.string(), scalar), z.array(z.string())], expecting('a mapping of KEY: value or a list of "KEY=value" strings'));
const keyName = z.string().regex(/^[a-zA-Z0-9._-]+$/, expecting('a name of letters, digits, ".", "_" and "-"'));
const command = z.union([z.string(), z.array(z.string()), z.null()], expecting('a command as a string or a list of strings'));
const external = z.union([bool, z.strictObject({ name: str })], expecting('true or false'));

const envFile = z.union(
  [z.string(), z.array(z.union([z.string(), level('envFile', { path: str, required: bool.optional() })], expecting('a file path or {path, required}')))],
  expecting('a file path or a list of them'),
);

const portLong = level('port', {
  target: port,
  published: port.optional(),
  host_ip: str.optional(),
  protocol: z.enum(['tcp', 'udp'], expecting('tcp or udp')).optional(),
});

const mountLong = level('mount', {
  type: z.enum(['bind', 'volume', 'tmpfs'], expecting('bind, volume or tmpfs')),
  source: str.optional(),
  target: str,
  read_only: bool.optional(),
  bind: level('mountBind', { create_host_path: bool.optional() }).optional(),
  volume: level('mountVolume', { nocopy: bool.optional() }).optional(),
  tmpfs: level('mountTmpfs', {
    size: bytes.optional(),
    mode: numberOrString('an octal file mode such as 1777', z.number().int().nonnegative(), /^0?[0-7]{3,4}$/).optional(),
  }).optional(),
});

const deviceLong = level('device', {
  source: str,
  target: str.optional(),
  permissions: z.string().regex(/^[rwm]+$/, expecting('some of r, w and m, e.g. rwm')).optional(),
});

const serviceNetworks = z.union(
  [
    strings,
    z.record(
      keyName,
      z.union(
        [level('serviceNetwork', { aliases: strings.optional(), ipv4_address: str.optional(), priority: z.number().optional() }), z.null()],
        expecting('a mapping of network options or nothing'),
      ),
    ),
  ],
  expecting('a list of network names or a mapping of network name to options'),
);

const dependsOn = z.union(
  [
    strings,
    z.record(
      keyName,
      level('dependency', {
        condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully'], expecting('service_started, service_healthy or service_completed_successfully')),
        required: bool.optional(),
        restart: bool.optional(),
      }),
    ),
  ],
  expecting('a list of service names or a mapping of service name to {condition, required, restart}'),
);

const healthcheck = level('healthcheck', {
  test: z.union([z.string(), z.array(z.string())], expecting('a command string, or a list starting with CMD, CMD-SHELL or NONE')).optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: integer.optional(),
  start_period: duration.optional(),
  start_interval: duration.optional(),
  disable: bool.optional(),
});

const deploy = level('deploy', {
  mode: z.enum(['replicated', 'global', 'replicated-job', 'global-job'], expecting('replicated (the default) or global')).optional(),
  replicas: integer.optional(),
  resources: level('resources', {
    limits: level('limits', { cpus: cpus.optional(), memory: bytes.optional(), pids: integer.optional() }).optional(),
  }).optional(),
});

/** A command run in the service: a develop.watch rule's `exec`, a `post_start` or `pre_stop` hook. */
const hook = level('hook', {
  command,
  user: z.union([z.string(), z.number().int()], expecting('a user name or uid, optionally with :group')).optional(),
  privileged: bool.optional(),
  working_dir: str.optional(),
  environment: listOrDict.optional(),
});
const hooks = z.array(hook, expecting('a list of {command, user, privileged, working_dir, environment}'));

const develop = level('develop', {
  watch: z
    .array(
      level('watch', {
        path: str,
        action: z.enum(['sync', 'rebuild', 'restart', 'sync+restart', 'sync+exec'], expecting('sync, rebuild, restart, sync+restart or sync+exec')),
        target: str.optional(),
        ignore: stringOrList.optional(),
        include: stringOrList.optional(),
        initial_sync: bool.optional(),
        exec: hook.optional(),
      }),
    )
    .optional(),
});

const fileMode = numberOrString('an octal file mode such as 0400 or 0440', z.number().int().nonnegative(), /^\s*(0o?)?[0-7]{1,4}\s*$/);
const numericId = z.union([z.number().int().nonnegative(), z.string()], expecting('a numeric id such as 1000'));
/** A service's `secrets:` or `configs:`: names, or {source, target, uid, gid, mode}. */
const serviceSecrets = z.array(
  z.union(
    [z.string(), level('serviceSecret', { source: str, target: str.optional(), uid: numericId.optional(), gid: numericId.optional(), mode: fileMode.optional() })],
    expecting('a name, or a {source, target, uid, gid, mode} mapping'),
  ),
  expecting('a list of names or {source, target} mappings'),
);

const build = z.union(
  [
    z.string(),
    level('build', {
      context: str.optional(),
      dockerfile: str.optional(),
      dockerfile_inline: str.optional(),
      target: str.optional(),
      args: listOrDict.optional(),
      labels: listOrDict.optional(),
      network: str.optional(),
      no_cache: bool.optional(),
      pull: bool.optional(),
      tags: z.array(z.string()).optional(),
      secrets: serviceSecrets.optional(),
    }),
  ],
  expecting('a build context path or a build mapping'),
);

/** One service: the keys stack runs with, plus image/build which it only models for now. */
export const serviceSchema = level('service', {
  image: str.optional(),
  pull_policy: str.optional(),
  build: build.optional(),
  platform: str.optional(),
  runtime: str.optional(),
  command: command.optional(),
  entrypoint: command.optional(),
  environment: listOrDict.optional(),
  env_file: envFile.optional(),
  working_dir: str.optional(),
  user: z.union([z.string(), z.number().int()], expecting('a user name or uid, optionally with :group')).optional(),
  hostname: str.optional(),
  container_name: str.optional(),
  scale: integer.optional(),
  ports: z.array(z.union([z.number().int(), z.string(), portLong], expecting('a port as "[IP:][HOST:]CONTAINER[/PROTOCOL]" or a {target, published} mapping'))).optional(),
  expose: z.array(z.union([z.string(), z.number().int()], expecting('a port or range'))).optional(),
  volumes: z.array(z.union([z.string(), mountLong], expecting('a volume as "SOURCE:TARGET[:ro]" or a {type, source, target} mapping'))).optional(),
  tmpfs: stringOrList.optional(),
  networks: serviceNetworks.optional(),
  extra_hosts: z.union([strings, z.record(z.string(), stringOrList)], expecting('a list of "host:ip" or a mapping of host to ip')).optional(),
  depends_on: dependsOn.optional(),
  healthcheck: healthcheck.optional(),
  restart: z.string().regex(/^(no|always|unless-stopped|on-failure(:\d+)?)$/, expecting('no, always, on-failure, on-failure:N or unless-stopped')).optional(),
  stop_signal: z.union([z.string().regex(/^(SIG)?[A-Z][A-Z0-9+-]*$|^\d+$/, expecting('a signal name such as SIGTERM or SIGINT, or its number')), z.number().int()], expecting('a signal name such as SIGTERM or SIGINT, or its number')).optional(),
  stop_grace_period: duration.optional(),
  init: bool.optional(),
  tty: bool.optional(),
  stdin_open: bool.optional(),
  read_only: bool.optional(),
  cap_add: strings.optional(),
  cap_drop: strings.optional(),
  security_opt: strings.optional(),
  mem_limit: bytes.optional(),
  cpus: cpus.optional(),
  pids_limit: integer.optional(),
  shm_size: bytes.optional(),
  network_mode: str.optional(),
  pid: str.optional(),
  ipc: str.optional(),
  volumes_from: strings.optional(),
  sysctls: z.union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], expecting('a value such as 1024'))), strings], expecting('a mapping of NAME: VALUE or a list of "NAME=VALUE"')).optional(),
  ulimits: z.record(z.string(), z.union([integer, z.strictObject({ soft: integer, hard: integer })], expecting('a whole number, or {soft: N, hard: N}'))).optional(),
  oom_score_adj: integer.optional(),
  domainname: str.optional(),
  cpu_shares: integer.optional(),
  cpuset: str.optional(),
  mem_reservation: bytes.optional(),
  memswap_limit: z.union([bytes, z.literal(-1), z.literal('-1')], expecting(`${SIZE_FORMAT}, or -1 for unlimited swap`)).optional(),
  links: strings.optional(),
  attach: bool.optional(),
  post_start: hooks.optional(),
  pre_stop: hooks.optional(),
  dns: stringOrList.optional(),
  dns_search: stringOrList.optional(),
  dns_opt: strings.optional(),
  group_add: z.array(z.union([z.string(), z.number().int()], expecting('a group name or gid')), expecting('a list of group names or gids')).optional(),
  deploy: deploy.nullable().optional(),
  privileged: bool.optional(),
  devices: z.array(z.union([z.string(), deviceLong], expecting('a device as "HOST[:CONTAINER[:PERMISSIONS]]" or a {source, target, permissions} mapping'))).optional(),
  develop: develop.nullable().optional(),
  profiles: strings.optional(),
  labels: listOrDict.optional(),
  secrets: serviceSecrets.optional(),
  configs: serviceSecrets.optional(),
  extends: z.union([z.string(), level('extends', { service: str, file: str.optional() })], expecting('a service name or {service, file}')).optional(),
});

/** A top-level network: one bridge. */
export const networkSchema = level('network', {
  name: str.optional(),
  driver: z.enum(['bridge'], expecting('bridge (the only driver stack has)')).optional(),
  internal: bool.optional(),
  external: external.optional(),
  driver_opts: z.record(z.string(), z.union([z.string(), z.number()]), expecting('a mapping of option: value (com.docker.network.driver.mtu)')).optional(),
  ipam: level('ipam', {
    driver: z.enum(['default'], expecting('default (the only IPAM driver stack has)')).optional(),
    config: z.array(level('ipamConfig', { subnet: str.optional(), gateway: str.optional(), ip_range: str.optional() })).optional(),
  }).optional(),
  labels: listOrDict.optional(),
});

/** A top-level named volume. */
export const volumeSchema = level('volume', {
  name: str.optional(),
  driver: z.enum(['local'], expecting('local (the only volume driver stack has)')).optional(),
  driver_opts: z.record(z.string(), z.union([z.string(), z.number()]), expecting('a mapping of option: value (type, o, device)')).optional(),
  external: external.optional(),
  labels: listOrDict.optional(),
});

/** A top-level secret: a host file or an environment variable (external: refused by `up`). */
export const secretSchema = level('secret', { name: str.optional(), file: str.optional(), environment: str.optional(), external: external.optional() });

/** A top-level config: a host file, an environment variable or inline content. */
export const configSchema = level('config', { name: str.optional(), file: str.optional(), environment: str.optional(), content: str.optional(), external: external.optional() });

/** A whole spec file as stack accepts it. */
export const specSchema = level('top', {
  name: str.optional(),
  services: z.record(keyName, serviceSchema).optional(),
  networks: z.record(keyName, networkSchema.nullable()).optional(),
  volumes: z.record(keyName, volumeSchema.nullable()).optional(),
  secrets: z.record(keyName, secretSchema.nullable()).optional(),
  configs: z.record(keyName, configSchema.nullable()).optional(),
  include: z.array(z.union([z.string(), z.record(z.string(), z.unknown())]), expecting('a list of files to include')).optional(),
});

/** The validated document (validation guarantees this shape before normalization reads it). */
export type Spec = z.input<typeof specSchema>;
/** One validated service, network or volume, as normalization reads it. */
export type ServiceSpec = z.input<typeof serviceSchema>;
/** See ServiceSpec. */
export type NetworkSpec = z.input<typeof networkSchema>;
/** See ServiceSpec. */
export type VolumeSpec = z.input<typeof volumeSchema>;

/** The JSON Schema editors use: `x-*` keys allowed where compose allows them, cosmetic keys marked. */
export function toJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(specSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const meta = levels.get(zodSchema as unknown as z.ZodType);
      if (meta) {
        jsonSchema.patternProperties = { '^x-': {} };
        const props = (jsonSchema.properties ??= {});
        for (const key of cosmeticKeys(meta.level)) props[key] = { description: 'Accepted for compatibility; stack ignores it (warning).' };
        for (const [key, description] of Object.entries(KEY_DOCS[meta.level] ?? {})) {
          const prop = props[key];
          if (prop && typeof prop === 'object') prop.description = description;
        }
      }
    },
  });
  return { ...json, title: 'stack spec (compose-compatible)' };
}

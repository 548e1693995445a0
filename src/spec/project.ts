// The normalized, fully defaulted model of a project. Everything downstream of src/spec
// (planner, executor, network, supervisor, cli) reads this and never the YAML.
// All durations are milliseconds, all sizes bytes, all paths absolute.
import type { PlatformSpec } from './platform.js';
import type { SeccompProfile } from './seccomp-profile.js';
import type { IpcMode, NetworkMode, SharedNamespace, VolumesFrom } from './namespace-modes.js';
import type { Ulimit } from './ulimits.js';
import type { Link } from './links.js';

/** A whole project after load → interpolate → validate → normalize. */
export interface Project {
  /** Normalized project name (compose rules: lowercase, [a-z0-9_-], starts with a letter or digit). */
  readonly name: string;
  /** The project folder: relative paths in the spec resolve against it. */
  readonly workingDir: string;
  /** The spec files that made this project, in merge order (absolute paths). */
  readonly files: readonly string[];
  /** Services that are enabled (profiles applied), keyed by service name, sorted. */
  readonly services: Readonly<Record<string, Service>>;
  /**
   * The spec's services that no active profile enables (compose's disabled services), sorted;
   * absent when there are none. A whole `up` leaves those that are there as they are
   * (planner/disabled.ts).
   */
  readonly disabledServices?: readonly string[];
  /** Networks used by at least one enabled service or declared, keyed by spec key. */
  readonly networks: Readonly<Record<string, Network>>;
  /** Named volumes, keyed by spec key. */
  readonly volumes: Readonly<Record<string, Volume>>;
  /** Top-level `secrets:`, keyed by spec key (absent when there are none). */
  readonly secrets?: Readonly<Record<string, SecretDef>>;
  /** Top-level `configs:`, keyed by spec key (absent when there are none). */
  readonly configs?: Readonly<Record<string, SecretDef>>;
}

/** Which top-level list a secret-like definition is from. */
export type SecretKind = 'secret' | 'config';

/**
 * A top-level secret or config: where its value comes from. An environment source keeps the
 * variable's NAME only (the value is read when the service starts: the Project is snapshotted).
 */
export interface SecretDef {
  readonly key: string;
  readonly kind: SecretKind;
  /** `name:` as given; `<project>_<key>` otherwise (the key itself when external). */
  readonly name: string;
  readonly source:
    /** `missing`: the file did not exist when the spec was loaded (`up` refuses it). */
    | { readonly type: 'file'; readonly path: string; readonly missing?: true }
    /** `unset`: the variable was not set when the spec was loaded (`up` refuses it). */
    | { readonly type: 'environment'; readonly variable: string; readonly unset?: true }
    | { readonly type: 'content'; readonly content: string }
    | { readonly type: 'external' };
}

/** A service's use of a secret or config: mounted read-only at `target`. */
export interface SecretMount {
  /** Key of the top-level definition. */
  readonly source: string;
  /** Absolute path inside the service (`/run/secrets/NAME`, `/NAME` for a config, by default). */
  readonly target: string;
  /** Owner and mode of the file stack writes (environment and content sources only). */
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
  /**
   * sha256 of the definition's source as written (the file's path, the variable's NAME, the
   * content), never of a variable's value: a changed definition changes the service's hash.
   */
  readonly definition: string;
}

/** A network of the project: one bridge per network. */
export interface Network {
  /** Key in the spec (`default` for the implicit one). */
  readonly key: string;
  /** Name as compose shows it: `<project>_<key>` unless `name:` was given. */
  readonly name: string;
  readonly driver: 'bridge';
  /** No route out of the bridge. */
  readonly internal: boolean;
  /** Managed outside this project: never created nor removed. */
  readonly external: boolean;
  /** `x-stack-allow-link-local: true`: egress to 169.254.0.0/16 (cloud metadata) allowed; absent: dropped. */
  readonly allowLinkLocal?: true;
  /** ipam.config[].subnet/gateway/ip_range as given (IPAM picks a subnet when empty). */
  readonly ipam: readonly IpamConfig[];
  readonly labels: Readonly<Record<string, string>>;
  /** `driver_opts` as written (values as strings), for `config`; absent when none. Not hashed: what they mean is (mtu). */
  readonly driverOpts?: Readonly<Record<string, string>>;
  /** The bridge's and its veths' MTU (driver_opts com.docker.network.driver.mtu); absent: the kernel's 1500. */
  readonly mtu?: number;
}

export interface IpamConfig {
  readonly subnet?: string;
  readonly gateway?: string;
  readonly ipRange?: string;
}

/** A named volume: a folder under the state root's volumes dir. */
export interface Volume {
  readonly key: string;
  /** `<project>_<key>` unless `name:` was given. */
  readonly name: string;
  readonly external: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** `driver_opts` as written (values as strings), for `config`; absent when none. */
  readonly driverOpts?: Readonly<Record<string, string>>;
  /** What `driver_opts` mounts on the volume's folder (runtime/volume-mount.ts); absent for a plain folder. */
  readonly mount?: VolumeMount;
}

/** The local driver's mount of a volume (`driver_opts` type, o and device). */
export interface VolumeMount {
  /** tmpfs: a tmpfs of its own; bind: a host folder bound on it (type none, o bind or rbind). */
  readonly kind: 'tmpfs' | 'bind';
  /** The folder a bind binds (absolute: resolved against the project folder), the source name of a tmpfs. */
  readonly device: string;
  /** `o` split at commas, as written: mount flags (ro, nosuid, ...), bind/rbind, and a tmpfs's own options (size=64m). */
  readonly options: readonly string[];
}

/** Everything stack needs to run one service. */
export interface Service {
  readonly name: string;
  /** The image reference as the spec names it (`postgres:16`); absent for a host program. */
  readonly image?: string;
  /** compose `pull_policy`: when `up` pulls the image (`if_not_present` is read as `missing`). */
  readonly pullPolicy?: PullPolicy;
  /**
   * The pulled image this service runs, filled in by image resolution before `up` plans (never
   * by the spec loader): the store's layers and the image config already merged into the
   * service's fields (command, environment, working dir, stop signal, healthcheck, volumes).
   */
  readonly imageRoot?: ImageRoot;
  /**
   * Set only on a foreground one-off of `stack run`: under its init, the service runs no program
   * of its own and holds its namespaces while the command runs in it (as `stack exec` runs one).
   */
  readonly hold?: true;
  /** `attach: false`: a foreground `up` does not stream this service's output (`stack logs` still has it). */
  readonly attach?: false;
  /** `links`: names by which this service reaches others (in its /etc/hosts), each an implicit depends_on. */
  readonly links?: readonly Link[];
  /** `post_start`: commands run in the service right after it started (compose's lifecycle hooks). */
  readonly postStart?: readonly WatchExec[];
  /** `pre_stop`: commands run in the service right before it is stopped. */
  readonly preStop?: readonly WatchExec[];
  /** `runtime:` as written; `up` refuses any but runc (planner/host-support.ts). */
  readonly runtime?: string;
  /** `platform:` normalized (`linux/arm64` → arm64 v8); absent: the host's. Only images use it. */
  readonly platform?: PlatformSpec;
  /** Set when the spec has `build:`; modelled only. */
  readonly build?: BuildSpec;
  /** `null` when not given (the image's would apply); a string spec is already split into words. */
  readonly entrypoint: readonly string[] | null;
  readonly command: readonly string[] | null;
  /** Final environment: env_file entries, then `environment`, host pass-through resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** `name`, `uid`, `uid:gid` or `name:group` as written. */
  readonly user?: string;
  /** Defaults to the service name. */
  readonly hostname: string;
  readonly containerName?: string;
  /** `scale` / `deploy.replicas` as written (absent: 1); `up --scale` overrides it (planner/replicas.ts). */
  readonly scale?: number;
  /** `deploy.mode: global`: at most one replica, on this host as on every node of a cluster (`export kube`: a DaemonSet). */
  readonly global?: true;
  /** Set on replicas 2..N made by `up` (planner/replicas.ts): the service copied and which replica this is. */
  readonly replica?: { readonly of: string; readonly index: number };
  /** One entry per published port (ranges are expanded). */
  readonly ports: readonly PortMapping[];
  readonly expose: readonly string[];
  readonly volumes: readonly Mount[];
  /** `secrets:` of the service (absent when none). */
  readonly secrets?: readonly SecretMount[];
  /** `configs:` of the service (absent when none). */
  readonly configs?: readonly SecretMount[];
  /** Networks this service joins, keyed by network key; `default` when the spec names none. */
  readonly networks: Readonly<Record<string, ServiceNetwork>>;
  readonly extraHosts: readonly ExtraHost[];
  readonly dependsOn: Readonly<Record<string, Dependency>>;
  /** `null` when disabled or not given. */
  readonly healthcheck: Healthcheck | null;
  /** The spec disables the healthcheck (`disable: true` or `test: ["NONE"]`): the image's is not used either. */
  readonly healthcheckDisabled: boolean;
  /** An image service's `healthcheck:` without `test`: its timings, laid over the image's healthcheck. */
  readonly healthcheckTimings?: Partial<Omit<Healthcheck, 'test'>>;
  readonly restart: RestartPolicy;
  /** Signal name, e.g. `SIGTERM` (the default when the spec has none). */
  readonly stopSignal: string;
  /** The spec wrote `stop_signal`: it wins over the image's StopSignal. */
  readonly stopSignalSet: boolean;
  readonly stopGracePeriodMs: number;
  readonly init: boolean;
  /** `tty: true`: stdin, stdout and stderr are a pseudo-terminal (absent when false: no config change for others). */
  readonly tty?: true;
  /** `stdin_open: true`: stdin stays open (a pipe nothing writes to) instead of /dev/null. */
  readonly stdinOpen?: true;
  readonly readOnly: boolean;
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  /** Every capability and every host device (`privileged: true`). */
  readonly privileged: boolean;
  /** Host devices the service may use (`devices:`), besides Docker's default few. */
  readonly devices: readonly DeviceMapping[];
  /** `security_opt` as written. */
  readonly securityOpt: readonly string[];
  /** The seccomp filter: stack's copy of Docker's default, none, or a profile file's (`security_opt`). */
  readonly seccomp: SeccompChoice;
  /** `shm_size` in bytes; absent: 64 MiB. */
  readonly shmSizeBytes?: number;
  /** `x-stack-hide`: paths hidden from the service beyond the defaults (`~/x`: in every home). */
  readonly hide?: readonly string[];
  /** `x-stack-show`: paths hidden by default that the service may see. */
  readonly show?: readonly string[];
  /** `network_mode` (namespace-modes.ts); absent: its own netns on `networks:`. Shared or `none`: `networks` is empty. */
  readonly networkMode?: NetworkMode;
  /** `pid`: the host's or another service's pid namespace; absent: its own. */
  readonly pidMode?: SharedNamespace;
  /** `ipc`; absent: its own (shareable). */
  readonly ipcMode?: IpcMode;
  /** `volumes_from`: the volumes of other services, mounted too. */
  readonly volumesFrom?: readonly VolumesFrom[];
  /** `sysctls:` set in the service's own net/IPC namespaces (sysctls.ts); absent when none. */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** `ulimits:` set with setrlimit before exec (ulimits.ts); -1 is unlimited; absent when none. */
  readonly ulimits?: Readonly<Record<string, Ulimit>>;
  /** `oom_score_adj` of the service's process (-1000..1000). */
  readonly oomScoreAdj?: number;
  /** `domainname`: the NIS domain name of the service's UTS namespace. */
  readonly domainname?: string;
  /** `group_add`: supplementary groups, names (resolved in the service's group db) or gids. */
  readonly groupAdd?: readonly string[];
  /** `dns`: the service's own resolvers, where stack's forwarder relays its queries for names outside the project. */
  readonly dns?: readonly string[];
  /** `dns_search`: search domains of its resolv.conf (the host's when absent; "." for none). */
  readonly dnsSearch?: readonly string[];
  /** `dns_opt`: the options line of its resolv.conf. */
  readonly dnsOpt?: readonly string[];
  readonly limits: Limits;
  readonly develop: Develop | null;
  readonly profiles: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** `build:`: how `stack build` (and `up`, for a missing image) builds the service's image (src/build). */
export interface BuildSpec {
  /** The context folder (absolute), or a URL stack cannot build from (refused at build time). */
  readonly context: string;
  /** The Dockerfile, relative to the context (`Dockerfile` when absent). */
  readonly dockerfile?: string;
  /** `dockerfile_inline`: the Dockerfile's text itself. */
  readonly dockerfileInline?: string;
  readonly target?: string;
  readonly args: Readonly<Record<string, string>>;
  /** Labels added to the image's config. */
  readonly labels?: Readonly<Record<string, string>>;
  /** RUN steps' network: `host` (the default: stack has no build network) or `none`. */
  readonly network?: 'host' | 'none';
  readonly noCache?: true;
  /** Pull the base images again before building. */
  readonly pull?: true;
  /** More names the image is recorded under. */
  readonly tags?: readonly string[];
  /** `build.secrets`: top-level secrets a RUN may mount (`--mount=type=secret,id=ID`); `id` is `target` when given. */
  readonly secrets?: readonly { readonly source: string; readonly id: string }[];
}

export interface PortMapping {
  /** Host address to listen on; `127.0.0.1` unless the spec names one. */
  readonly hostIp: string;
  /** 0 means "any free port" (compose's `"3000"` short form). */
  readonly hostPort: number;
  /** A host range for one container port ("8000-8002:80"): its last port; `hostPort` is its first. */
  readonly hostPortEnd?: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

export type Mount =
  | {
      readonly type: 'bind';
      /** Absolute host path. */
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
      /** Create the source folder when missing (compose's short syntax does). */
      readonly createHostPath: boolean;
    }
  | {
      readonly type: 'volume';
      /** Key of a project volume; undefined for an anonymous volume. */
      readonly source?: string;
      readonly target: string;
      readonly readOnly: boolean;
      /** compose `volume.nocopy` (`:nocopy`): a new volume does not start with the image's content at the target. */
      readonly noCopy?: true;
    }
  | {
      readonly type: 'tmpfs';
      readonly target: string;
      readonly readOnly: boolean;
      readonly sizeBytes?: number;
      /** Octal file mode as a number, e.g. 0o1777. */
      readonly mode?: number;
    };

export interface ServiceNetwork {
  readonly aliases: readonly string[];
  readonly ipv4Address?: string;
  /** Higher first when ordering eth0, eth1, ... */
  readonly priority: number;
}

export interface ExtraHost {
  readonly host: string;
  /** An address, or the literal `host-gateway`. */
  readonly ip: string;
}

export type DependencyCondition =
  | 'service_started'
  | 'service_healthy'
  | 'service_completed_successfully';

export interface Dependency {
  readonly condition: DependencyCondition;
  readonly required: boolean;
  readonly restart: boolean;
}

export interface Healthcheck {
  /** `['CMD', prog, ...args]` or `['CMD-SHELL', script]`. */
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
  readonly startIntervalMs: number;
}

export type RestartPolicy =
  | { readonly kind: 'no' }
  | { readonly kind: 'always' }
  | { readonly kind: 'unless-stopped' }
  | { readonly kind: 'on-failure'; readonly maxRetries?: number };

export interface Limits {
  readonly memoryBytes?: number;
  /** Fractional cpu count, e.g. 0.5. */
  readonly cpus?: number;
  /** Most tasks (pids.max): absent = the default (DEFAULT_PIDS_LIMIT, 2048), -1 = no limit. */
  readonly pids?: number;
  /** `cpu_shares`: relative cpu weight (v1 cpu.shares; v2 cpu.weight, converted as runc does). */
  readonly cpuShares?: number;
  /** `cpuset`: the cpus the service may run on, as cpuset.cpus takes them (`0-1,3`). */
  readonly cpuset?: string;
  /** `mem_reservation`: memory the service is protected to keep under pressure (v1 soft limit, v2 memory.low). */
  readonly memoryReservationBytes?: number;
  /** `memswap_limit`: memory plus swap (-1: swap unlimited); absent: no swap at all with a memory limit. */
  readonly memswapBytes?: number;
}

/** A host device made usable in the service (compose `devices:`). */
export interface DeviceMapping {
  /** Absolute host path of the device node, e.g. /dev/fuse. */
  readonly source: string;
  /** Absolute path inside the service (the source's path unless given). */
  readonly target: string;
  /** Some of `r`, `w`, `m` (the device cgroup's access letters); `rwm` unless given. */
  readonly permissions: string;
}

/** Which seccomp profile a service runs under (`security_opt: [seccomp=...]`). */
export type SeccompChoice =
  | { readonly mode: 'default' }
  | { readonly mode: 'unconfined' }
  /** A profile file in Docker's format, read and checked when the spec is loaded. */
  | { readonly mode: 'file'; readonly path: string; readonly profile: SeccompProfile };

export interface Develop {
  readonly watch: readonly WatchRule[];
}

export interface WatchRule {
  /** Absolute host path. */
  readonly path: string;
  readonly action: 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec';
  readonly target?: string;
  /** Patterns (.dockerignore syntax, relative to `path`) of changes to leave alone. */
  readonly ignore: readonly string[];
  /** When not empty, only changes matching one of these patterns count. */
  readonly include: readonly string[];
  /** Copy every differing file to `target` when watching starts (sync actions). */
  readonly initialSync: boolean;
  /** What `sync+exec` runs in the service after a copy. */
  readonly exec?: WatchExec;
}

/** compose `pull_policy` values stack acts on. */
export type PullPolicy = 'always' | 'missing' | 'never' | 'build' | { readonly refreshAfterMs: number };

/** The image a service runs, as resolved from the image store (src/image/resolve.ts). */
export interface ImageRoot {
  /** The image ID: its config's digest. A new one (a tag that moved) recreates the service. */
  readonly id: string;
  /** The canonical reference pulled (`docker.io/library/postgres:16`), the store record's name. */
  readonly reference: string;
  /** The digest the reference resolved to (Docker's RepoDigest). */
  readonly digest: string;
  /** ChainIDs (`sha256:...`) of the unpacked layers, lowest first: folders of the image store. */
  readonly layers: readonly string[];
  /** The user the service runs as, resolved in the image's own /etc/passwd and /etc/group. */
  readonly identity: { readonly uid: number; readonly gid: number; readonly groups: readonly number[] };
  /** The image's ExposedPorts (`5432/tcp`), shown by `ps`. */
  readonly exposedPorts: readonly string[];
}

/** A command a watch rule runs inside the service (compose's service_hook). */
export interface WatchExec {
  readonly command: readonly string[];
  readonly user?: string;
  readonly privileged: boolean;
  readonly workingDir?: string;
  readonly environment: Readonly<Record<string, string>>;
}

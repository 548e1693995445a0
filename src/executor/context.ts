// The per-run context every handler shares: the desired project, what was observed, where
// state lives, the IPAM allocation, and the narrow interfaces to the kernel (network driver,
// cgroup manager, firewall, launcher) opened lazily, so a plan that never touches a kind of
// object never loads its FFI. Built once by apply(); handlers hold no state of their own.
import type { NetworkDriver } from '../network/setup.js';
import type { IpamRecord } from '../network/ipam.js';
import type { NetTarget } from '../network/firewall/index.js';
import type { Project, Service } from '../spec/project.js';
import type { LiveState } from '../state/live.js';
import type { StateRoots } from '../state/paths.js';
import type { CgroupManager, UserDb } from '../runtime/index.js';
import type { SupervisorControl } from './supervisor.js';
import type { StopsTogether } from './stops-together.js';
import { opId } from '../planner/edges.js';

/** What the caller of apply() decides about the host; every field but `supervisor` has a default. */
export interface ExecutorEnv {
  readonly supervisor: SupervisorControl;
  readonly roots?: StateRoots;
  /** This boot's id (records carry it). */
  readonly bootId?: string;
  /** Opens the network driver on first use (default: the host's, src/network/setup.ts). */
  readonly openNetwork?: () => NetworkDriver;
  /** Opens the cgroup manager on first use (default: the detected hierarchy). */
  readonly openCgroups?: () => Promise<CgroupManager>;
  /** Where firewall commands run (default: the host). */
  readonly firewallTarget?: NetTarget;
  /**
   * `enable` (default): turn net.ipv4.ip_forward on when a network needs egress, and say so;
   * `leave`: never touch it (egress then works only where it is already on).
   */
  readonly ipForward?: 'enable' | 'leave';
  /** Users and groups `user:` resolves against (default: the host's). */
  readonly userDb?: UserDb;
  /** Owner of the folders stack creates inside the project folder (SUDO_UID/SUDO_GID under sudo). */
  readonly invoker?: { readonly uid: number; readonly gid: number };
  /** Grace period for every stop, overriding stop_grace_period (`down --timeout N`). */
  readonly stopTimeoutMs?: number;
}

/** What handlers share during one apply(). */
export interface RunContext {
  /** The desired project (an empty one for `down`). */
  readonly project: Project;
  /** What was observed before planning: records and kernel, for what the project no longer says. */
  readonly live: LiveState;
  readonly roots: StateRoots;
  readonly bootId: string;
  /** The allocation of every network the project wants (empty for `down`). */
  readonly ipam: IpamRecord;
  readonly env: ExecutorEnv;
  network(): NetworkDriver;
  cgroups(): Promise<CgroupManager>;
  /** Runs `work` after every earlier call with the same key (one firewall rewrite at a time). */
  serial<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Things the user should know that are not failures (`net.ipv4.ip_forward was turned on`). */
  notice(message: string): void;
  /** Test hook: called once a step is recorded and once it is made (crash.ts). */
  reached(point: string): void;
  /**
   * The stopping supervisor's exit, once stop-supervisor has told it to stop (handlers/project.ts):
   * the steps after it need only that it was told, remove-project and the end of the run need it gone.
   */
  readonly supervisorExit: { current?: Promise<void> };
  /** The ids of the plan's operations (planner/edges.ts opId). */
  readonly planned: ReadonlySet<string>;
  /**
   * The stops of a teardown (`down`): their last steps wait for one another once their processes
   * are gone (stops-together.ts).
   */
  readonly stopsTogether?: StopsTogether;
  /**
   * The spec `service` was started as, when the project given to apply() does not have it (a
   * `down` applies an empty project): the snapshot's (ApplyOptions.startedAs; none without it:
   * a service that leaves the project in an `up` is stopped without its hooks, as compose's
   * orphans are). A stop whose record says it has pre_stop hooks runs them from it, as compose's
   * `down` runs them.
   */
  readonly startedAs?: (service: string) => Promise<Service | undefined>;
  /**
   * `up -V` (compose's --renew-anon-volumes): a service the run makes or recreates starts with
   * new anonymous volumes, not those of before (runtime/mounts.ts).
   */
  readonly renewAnonVolumes?: true;
}

/**
 * Whether the run deletes `service`'s record: it leaves the project and its remove-service is
 * planned. Its detach-veth and remove-netns then leave the record's veths and netns as they are
 * (handlers/netns.ts): the record goes, and until then a record naming a veth or a netns that is
 * gone reads as gone to observation, the planner and remove-service's pass over leftovers (each
 * removes by name, gone is success). Not its process: see handlers/stop.ts.
 */
export function recordGoes(ctx: RunContext, service: string): boolean {
  return ctx.project.services[service] === undefined && ctx.planned.has(opId('remove-service', service));
}

// A Plan is data: a DAG of small idempotent operations, each naming the resource it acts on,
// why it exists (its cause) and what must be done before it. The executor walks it and decides
// nothing; `stack plan` prints it. Every kind below is a contract with the executor's handlers.

/** What a config hash stamps on a record: the whole-spec hash and one hash per spec field. */
export interface ConfigStamp {
  /** sha256 (hex) over the normalized spec, stable key order. */
  readonly hash: string;
  /** Per-field hashes keyed by compose key (`environment`, `ports`), so a change can be named. */
  readonly fields: Readonly<Record<string, string>>;
}

interface OperationBase {
  /** Unique in a plan: `<kind>:<target>`, e.g. `start-service:web`, `attach-veth:web/backend`. */
  readonly id: string;
  /** The resource acted on: `service:web`, `netns:web`, `veth:web/backend`, `network:backend`, `volume:data`. */
  readonly resource: string;
  /** Why: `new service`, `environment changed`, `not running`, `removed from the spec`. */
  readonly cause: string;
  /** Operation ids that must be done first. */
  readonly dependsOn: readonly string[];
  /** Loses user data (a volume's contents). */
  readonly destructive?: boolean;
}

/** Create a network's bridge and nftables rules, then record it with its stamp (handlers: issue 3). */
export interface CreateNetwork extends OperationBase {
  readonly kind: 'create-network';
  readonly network: string;
  readonly stamp: ConfigStamp;
}

/** Delete a network's bridge and rules and its record; what is already gone is success. */
export interface RemoveNetwork extends OperationBase {
  readonly kind: 'remove-network';
  readonly network: string;
}

/** Create a named volume's folder and record it. */
export interface CreateVolume extends OperationBase {
  readonly kind: 'create-volume';
  readonly volume: string;
}

/** Delete a volume's folder and record (named or anonymous): only on `down -v`. */
export interface RemoveVolume extends OperationBase {
  readonly kind: 'remove-volume';
  readonly volume: string;
}

/** Take what a volume's driver_opts mounted off its folder, keeping the volume: `down` without -v. */
export interface UnmountVolume extends OperationBase {
  readonly kind: 'unmount-volume';
  readonly volume: string;
}

/** Create the service's named network namespace (record first, then the bind mount). */
export interface CreateNetns extends OperationBase {
  readonly kind: 'create-netns';
  readonly service: string;
}

/** Unmount and delete the service's network namespace; clears it from the record. */
export interface RemoveNetns extends OperationBase {
  readonly kind: 'remove-netns';
  readonly service: string;
}

/** Make the veth pair joining a service to a network: peer `eth<index>` inside, host side on the bridge. */
export interface AttachVeth extends OperationBase {
  readonly kind: 'attach-veth';
  readonly service: string;
  readonly network: string;
  /** The peer's name inside the netns is `eth<index>`. */
  readonly index: number;
  /** Stamp written on the record's veth entry (see attachmentHash). */
  readonly attachHash: string;
}

/** Delete the host side of a veth pair (the peer goes with it); clears the record's entry. */
export interface DetachVeth extends OperationBase {
  readonly kind: 'detach-veth';
  readonly service: string;
  readonly network: string;
}

/**
 * Launch the service's process in its netns and cgroups; the record gets pid, start time, stamp
 * and depends_on. A dead process of the record is replaced; its cgroups are emptied and reused.
 */
export interface StartService extends OperationBase {
  readonly kind: 'start-service';
  readonly service: string;
  readonly stamp: ConfigStamp;
}

/** Stop the service: stop_signal, grace period, then kill everything left in its cgroups. */
export interface StopService extends OperationBase {
  readonly kind: 'stop-service';
  readonly service: string;
  /**
   * Killed at once (SIGKILL), not signalled: its main process was seen unable to act on its stop
   * signal when the plan was made, and its networks go beside the stops (planDown).
   */
  readonly killAtOnce?: boolean;
}

/**
 * Remove what a process run leaves behind: its cgroups (killing anything left in them) and the
 * process part of the record. When the service leaves the project, the whole record goes.
 */
export interface RemoveService extends OperationBase {
  readonly kind: 'remove-service';
  readonly service: string;
}

/**
 * Stop the project's supervisor (and one a crashed `up` was still starting): the first step of
 * `down`, so nothing restarts or serves what the rest of the plan takes away.
 */
export interface StopSupervisor extends OperationBase {
  readonly kind: 'stop-supervisor';
}

/**
 * The last step of `down`: once no service or network record is left, the project's run folder
 * goes (allocation, snapshot, runtime files; the lock stays for its holder). `sweepFirewall`:
 * networks were observed but no remove-network of the plan rewrote the firewall, so its table
 * and holes are removed here.
 */
export interface RemoveProject extends OperationBase {
  readonly kind: 'remove-project';
  readonly sweepFirewall: boolean;
}

/** One step of a plan; `kind` selects the executor's handler. */
export type Operation =
  | CreateNetwork
  | RemoveNetwork
  | CreateVolume
  | RemoveVolume
  | UnmountVolume
  | CreateNetns
  | RemoveNetns
  | AttachVeth
  | DetachVeth
  | StartService
  | StopService
  | RemoveService
  | StopSupervisor
  | RemoveProject;

/** Every operation kind, in the order a reader meets them. */
export type OperationKind = Operation['kind'];

/** The operation of one kind, for handlers typed by kind. */
export type OperationOf<K extends OperationKind> = Extract<Operation, { kind: K }>;

/** What `stack plan` prints and `stack up` executes: operations in a dependency-respecting order. */
export interface Plan {
  readonly project: string;
  readonly operations: readonly Operation[];
}

/** The service an operation concerns, if any (for events and renderers). */
export function operationService(op: Operation): string | undefined {
  return 'service' in op ? op.service : undefined;
}

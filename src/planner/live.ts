// What exists of a project on this host: the state records, each claim checked against the
// kernel. The planner's input beside the Project (planner(Project, LiveState) → Plan), so it is
// defined here and the state layer fills it (src/state/observe.ts). Every object carries
// `present` — the kernel's answer — so the planner can name drift ("netns stk-p-web gone") and
// repair it. Pure types: observe builds it, tests build it by hand.
import type { ConfigStamp } from './plan.js';

/** A kernel object a record claims, and whether the kernel still has it. */
export interface LiveObject {
  readonly name: string;
  readonly present: boolean;
}

/** The service's main process as recorded; `alive` means same pid AND same start time, not a zombie. */
export interface LiveProcess {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22). */
  readonly startTime: number;
  readonly alive: boolean;
  /** The stop signal it was started with, when its record says (state/records.ts stopOf). */
  readonly stopSignal?: string;
  /** Its spec had pre_stop hooks, its record says: its stop runs them before the signal. */
  readonly preStop?: true;
}

/** One veth pair of a service, keyed in LiveService.veths by network key. */
export interface LiveVeth {
  readonly network: string;
  /** The host side link (`stkv…`). */
  readonly host: LiveObject;
  /** The peer's name inside the netns (`eth0`). */
  readonly peer: string;
  /** The attachment stamp it was made with (see planner attachmentHash). */
  readonly attachHash: string;
}

/** A service as recorded: its netns, veths, cgroups and process. */
export interface LiveService {
  readonly name: string;
  /** Stamp of the spec the process was started with; null when never started. */
  readonly config: ConfigStamp | null;
  readonly netns: LiveObject | null;
  readonly veths: Readonly<Record<string, LiveVeth>>;
  /** Absolute cgroup directories (one per v1 controller, or one on v2). */
  readonly cgroups: readonly LiveObject[];
  readonly process: LiveProcess | null;
  /** depends_on of the running spec: stops go in reverse of it even when the spec is gone. */
  readonly dependsOn: readonly string[];
  /** Set for a one-off of `stack run`: the service it is a copy of. */
  readonly oneOff?: string;
}

/** A project network as recorded, with its bridge. */
export interface LiveNetwork {
  readonly key: string;
  readonly config: ConfigStamp;
  readonly bridge: LiveObject;
}

/** A volume as recorded (persistent: volumes outlive reboots and `down`). */
export interface LiveVolume {
  /** Key in the spec for named volumes; the record's own key for anonymous ones. */
  readonly key: string;
  readonly name: string;
  /** Its folder. */
  readonly path: string;
  /** The folder exists. */
  readonly present: boolean;
  /** Set for an anonymous volume: the service it belongs to. */
  readonly owner?: string;
  /** What its driver_opts mounted on the folder (its record), and whether a mount is there now. */
  readonly mount?: { readonly kind: string; readonly device: string; readonly options: readonly string[]; readonly mounted: boolean };
}

/** Everything observed of one project. */
export interface LiveState {
  readonly project: string;
  readonly networks: Readonly<Record<string, LiveNetwork>>;
  readonly services: Readonly<Record<string, LiveService>>;
  readonly volumes: Readonly<Record<string, LiveVolume>>;
  /** Records that could not be read (reported, never acted on). */
  readonly warnings: readonly string[];
}

/** What a host with nothing of the project observes as. */
export function emptyLiveState(project: string): LiveState {
  return { project, networks: {}, services: {}, volumes: {}, warnings: [] };
}

// The options of a reconcile, in a file of their own so the parts of the planner that take them
// (resources.ts) do not import reconcile.ts, which imports them.
import type { ProcessMode } from './targets.js';

/** How a reconcile treats what the project no longer wants, and which services it acts on. */
export interface ReconcileOptions {
  /** Remove volumes the project does not declare (named and anonymous): `down -v`. */
  readonly removeVolumes: boolean;
  /** Cause of the operations that take away what the project no longer has. */
  readonly removedCause: string;
  /** Cause of volume removals. */
  readonly volumeCause: string;
  /**
   * The services acted on and how (targets.ts). Absent: every service converges, and what the
   * project no longer has is removed. Present: the others are left as they are, nothing is
   * removed, and only the networks and volumes the targeted services use are made.
   */
  readonly modes?: ReadonlyMap<string, ProcessMode>;
  /** With modes: a service outside them restarts when a dependency it follows (`restart: true`) does. Default true. */
  readonly follow?: boolean;
  /** Remove live one-offs (`stack run`) too: `down`. Otherwise they are no orphans and stay. */
  readonly removeOneOffs?: boolean;
  /**
   * compose's `up --remove-orphans`: the services the spec no longer has go even when the up names
   * services (a plain up removes them anyway), and so do the one-offs whose process has ended.
   */
  readonly removeOrphans?: boolean;
  /** With modes that cover the whole project (`up --force-recreate` naming no service): orphans and unused networks still go, as in a plain up. */
  readonly whole?: boolean;
  /** compose's `up --no-start` and `create`: everything is made but no service is started (their start-service operations are left out). */
  readonly noStart?: boolean;
  /** Services an `up` names that it scales to 0 (`--scale S=0`, `stack scale S=0`): their replicas go, targeted or not. */
  readonly scaledToZero?: ReadonlySet<string>;
  /**
   * `up` (and `plan`, which shows what it would do): a volume whose driver_opts differ from the
   * mount on it is refused. Others (`start`, `restart`) apply no spec change and leave it mounted.
   */
  readonly refuseChangedMounts?: boolean;
}

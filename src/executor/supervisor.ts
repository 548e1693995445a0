// What the executor needs from the per-project supervisor (src/supervisor hosts the published
// port forwarders, the DNS forwarder, healthchecks and restart policies). The executor only
// calls it through this interface; src/supervisor implements it. The supervisor learns the
// project from the run folder: `project.json` (the normalized Project and its IPAM record,
// written by apply before any operation, see snapshot.ts) and the service records.

/** The executor's handle on a project's supervisor. */
export interface SupervisorControl {
  /**
   * Starts the project's supervisor, or tells the running one to reread the project. With
   * `soon` a running one answers before it rereads (a plan that only stopped and started
   * processes changed no port or name it serves). With `unchanged` a running one is left
   * alone (nothing changed that it would reread).
   */
  ensure(project: string, options?: { soon?: boolean; unchanged?: boolean }): Promise<void>;
  /**
   * Stops the project's supervisor; none running is success. Services keep running. `asked`
   * is called once it was told to stop (it restarts and probes nothing more), before it is gone.
   */
  stop(project: string, asked?: () => void): Promise<void>;
  /**
   * Resolves once the service's healthcheck passes; rejects (a UserError naming the service)
   * when it is declared unhealthy, exits, `timeoutMs` passes or `signal` aborts.
   */
  waitHealthy(project: string, service: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /**
   * A network's bridge was made with its gateway address (create-network). When no supervisor
   * runs, the one this run starts after its walk will answer DNS there: its listener is bound
   * now, before any service is launched, so a name a service asks for early waits for the
   * supervisor instead of being refused. Best effort: what cannot be bound now is bound later.
   */
  networkMade?(project: string, gateway: string): Promise<void>;
  /**
   * The plan has work to do and the project's supervisor may be started once it is done: the
   * launcher that would start one is spawned now and places itself meanwhile (on a v2
   * hierarchy a move waits for an RCU grace period), if none runs. `release` lets go of one the
   * run did not take (a supervisor already ran, the walk failed before).
   */
  prepare?(project: string): void;
  release?(project: string): void;
}

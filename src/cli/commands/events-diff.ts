// What `stack events` compares: a picture of each service's lifecycle facts as the records show
// them (its process from the service record, the monitor's exit record, the supervisor's health
// and restart files, the memory cgroup's oom_kill counter), and the events between two pictures,
// in the order Docker emits them: create, oom, die (with the exit code, 128+n for signal n),
// restart, start, health_status, destroy. A service whose record appears is created; one whose
// record goes (`down`, `up` removing it) is destroyed, after a die (without its code) when it was
// running at the last reading; a process replaced before its exit record was read dies without
// its code too. Pure: the reading is in events.ts.

/** One service's facts at one moment. */
export interface ServiceFacts {
  /** `pid:startTime` of the main process the record names, or null. */
  readonly process: string | null;
  /** The last exit the monitor recorded: the process it was, its code and whether it was an OOM kill. */
  readonly exit: { readonly process: string; readonly exitCode: number; readonly oomKilled: boolean; readonly at: string } | null;
  /** The supervisor's health of the current process. */
  readonly health: { readonly process: string; readonly status: string } | null;
  /** Restarts the supervisor made since `up` started the service. */
  readonly restarts: number | null;
  /** The memory cgroup's oom_kill counter, when readable. */
  readonly oomKills: number | null;
}

/** The facts of every service, by name. */
export type ProjectFacts = ReadonlyMap<string, ServiceFacts>;

/** One lifecycle event. */
export interface LifecycleEvent {
  readonly service: string;
  readonly action: 'create' | 'start' | 'die' | 'oom' | 'restart' | 'health_status' | 'destroy';
  /** Extra facts: exitCode for die, the status for health_status (`healthy`), pid for start. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** The events that lead from `before` to `after` (a service new in `after` is created, and compares with nothing). */
export function diffFacts(before: ProjectFacts, after: ProjectFacts): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  for (const [service, now] of [...after.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const was = before.get(service);
    const emit = (action: LifecycleEvent['action'], attributes: Record<string, string> = {}) => events.push({ service, action, attributes });
    if (was === undefined) emit('create');
    const newExit = now.exit !== null && (was?.exit === null || was?.exit === undefined || was.exit.at !== now.exit.at || was.exit.process !== now.exit.process);
    // oom: the counter rose, or (no counter to read) an exit the monitor marked as an OOM kill.
    const counterRose = now.oomKills !== null && was?.oomKills !== null && was?.oomKills !== undefined && now.oomKills > was.oomKills;
    if (counterRose || (newExit && now.exit!.oomKilled && (now.oomKills === null || was?.oomKills === null || was?.oomKills === undefined))) emit('oom');
    if (newExit) emit('die', { exitCode: String(now.exit!.exitCode) });
    // Replaced by a new process before its exit record was read: a restart's launcher removes
    // the record as it starts (100 ms after the exit at the first restart). It died all the
    // same; its code went with the record.
    else if (was !== undefined && was.process !== null && now.process !== was.process && was.exit?.process !== was.process) emit('die');
    if (now.restarts !== null && (was?.restarts ?? 0) < now.restarts && was !== undefined) emit('restart');
    if (now.process !== null && now.process !== (was?.process ?? null)) emit('start', { pid: now.process.split(':')[0]! });
    const status = now.health?.status;
    if (status !== undefined && status !== 'starting' && (now.health!.process !== was?.health?.process || status !== was?.health?.status)) {
      emit('health_status', { healthStatus: status });
    }
  }
  for (const service of [...before.keys()].sort()) {
    if (after.has(service)) continue;
    // Running at the last reading and gone with its record (a fast `down`): it died too, its
    // exit code gone with the record.
    if (before.get(service)!.process !== null) events.push({ service, action: 'die', attributes: {} });
    events.push({ service, action: 'destroy', attributes: {} });
  }
  return events;
}

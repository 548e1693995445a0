// `stack events [--format json] [SERVICE...]`: the project's lifecycle events as they happen —
// create, start, die (with the exit code), oom, restart, health_status, destroy — as `docker compose events`
// prints them, until ^C. Nothing new is recorded for it: the facts are the records stack already
// writes (the service record's process, the monitor's exit record, the supervisor's health and
// restart files) and the memory cgroup's oom_kill counter, read again whenever inotify (fs.watch)
// sees one of those folders change, and every 250 ms for what inotify cannot see (a cgroup
// counter on v1, a folder made later). Events between two readings are told apart by
// events-diff.ts. Read-only: takes no lock.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from '../../sys/fs-async.js';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { readExitRecord } from '../../state/exit-record.js';
import { serviceRecordPath, type StateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { serviceFiles } from '../../state/service-files.js';
import { readHealth, readRestarts, serviceStatePaths } from '../../supervisor/index.js';
import { parseKeyed } from './stats-sample.js';
import { runningProject, withReplicas } from './running-project.js';
import { diffFacts, type LifecycleEvent, type ProjectFacts, type ServiceFacts } from './events-diff.js';
import { replicaOf } from '../../planner/replicas.js';

const HELP = `Usage: stack events [OPTIONS] [SERVICE...]

Print the project's lifecycle events as they happen (create, start, die, oom, restart,
health_status, destroy), until ^C.

Options:
      --format FORMAT   text (default) or json (one object per line)
      --json            Same as --format json (compose's flag)
  -h, --help            Print this help
`;

/** Time between readings when inotify says nothing. */
export const EVENTS_POLL_MS = 250;

/** The exit code as a shell reports it: the code, or 128+n for signal n (SIGKILL: 137). */
export function exitCodeOf(exitCode: number | null, signal: string | null): number {
  if (exitCode !== null) return exitCode;
  return 128 + ((signal !== null && (osConstants.signals as Record<string, number>)[signal]) || 0);
}

/** The oom_kill counter of the memory cgroup among `cgroups` (v2 memory.events, v1 memory.oom_control), or null. */
async function oomKills(cgroups: readonly string[]): Promise<number | null> {
  for (const dir of cgroups) {
    for (const file of ['memory.events', 'memory.oom_control']) {
      const text = await readFile(join(dir, file), 'utf8').catch(() => undefined);
      const value = text === undefined ? undefined : parseKeyed(text).get('oom_kill');
      if (value !== undefined) return value;
    }
  }
  return null;
}

/** The facts of each service of `project` (one-offs left out), read from its records now. */
export async function readFacts(roots: StateRoots, project: string, only: ReadonlySet<string>): Promise<ProjectFacts> {
  const { records } = await serviceRecords.list(roots, project);
  const facts = new Map<string, ServiceFacts>();
  await Promise.all(
    records
      .filter((r) => r.oneOff === undefined && (only.size === 0 || only.has(r.service)))
      .map(async (r) => {
        const state = serviceStatePaths(roots, project, r.service);
        let exit: ReturnType<typeof readExitRecord>;
        try {
          exit = readExitRecord(serviceFiles(roots, project, r.service).exit);
        } catch {
          exit = undefined; // half a file cannot be: it is written atomically; unreadable is no fact
        }
        const [health, restarts, ooms] = await Promise.all([readHealth(state.health), readRestarts(state.restarts), oomKills(r.cgroups)]);
        // Gone with a restart (its launcher removes it as it starts): the supervisor kept it.
        exit ??= restarts?.lastExit;
        facts.set(r.service, {
          process: r.process === null ? null : `${r.process.pid}:${r.process.startTime}`,
          exit: exit === undefined ? null : { process: `${exit.pid}:${exit.startTime}`, exitCode: exitCodeOf(exit.exitCode, exit.signal), oomKilled: exit.oomKilled, at: exit.exitedAt },
          health: health === undefined ? null : { process: `${health.pid}:${health.startTime}`, status: health.status },
          restarts: restarts?.restarts ?? null,
          oomKills: ooms,
        });
      }),
  );
  return facts;
}

/** One event as compose prints it: `TIME container ACTION ID (k=v, ...)`, or its JSON line. */
export function formatEvent(project: string, event: LifecycleEvent, time: Date, json: boolean): string {
  // A replica N of a scaled service (key web#N, planner/replicas.ts) is compose's PROJECT-web-N of service web.
  const { service, index } = replicaOf(event.service);
  const id = `${project}-${service}-${index}`;
  const action = event.action === 'health_status' ? `health_status: ${event.attributes.healthStatus}` : event.action;
  const attributes = { ...event.attributes, name: id, project, service };
  if (json) return JSON.stringify({ time: time.toISOString(), type: 'container', action, id, service, attributes }) + '\n';
  const attrs = Object.entries(attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${time.toISOString()} container ${action} ${id} (${attrs})\n`;
}

/** Runs `stack events`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'events',
    ctx.args,
    {
      format: { type: 'string', default: 'text' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${values.format}"`, 'use --format text or --format json');
  }
  const json = values.json || values.format === 'json';
  const { env, name, project } = await runningProject(ctx, 'events', positionals);
  // A scaled service's name stands for all its replicas.
  const only = new Set(project ? withReplicas(project, positionals) : positionals);
  const roots = env.roots;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchers = new Map<string, FSWatcher>();
  let facts = await readFacts(roots, name, only);
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  /** inotify on the folders whose files change with a lifecycle fact (those that exist now). */
  const watchFolders = (services: Iterable<string>) => {
    const folders = [dirname(serviceRecordPath(roots, name, 'x')), ...[...services].map((s) => serviceFiles(roots, name, s).dir)];
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        const w = watch(folder, { persistent: false }, poke);
        w.on('error', () => {
          w.close();
          watchers.delete(folder);
        });
        watchers.set(folder, w);
      } catch {
        // not made yet: the next reading tries again
      }
    }
  };
  try {
    watchFolders(facts.keys());
    while (!stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, EVENTS_POLL_MS);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          stop.signal.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        stop.signal.addEventListener('abort', done);
      });
      if (stop.signal.aborted) break;
      const next = await readFacts(roots, name, only);
      const now = new Date();
      for (const event of diffFacts(facts, next)) ctx.stdout.write(formatEvent(name, event, now, json));
      facts = next;
      watchFolders(next.keys());
    }
    return 0;
  } finally {
    for (const w of watchers.values()) w.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

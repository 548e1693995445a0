// `stack wait SERVICE...`: blocks until the named services' running processes have stopped (their
// replicas, and the one-offs `stack run` made of them, as compose's wait takes one-off
// containers too), saying how each ended, and exits with the status code of the last to stop,
// as `docker compose wait` does (a signal's death is 128 + its number, as Docker reports it);
// `--down-project` then takes the project down. Each process is watched through a pidfd
// (sys/exit-watch.ts): no polling while they run.
import { UserError } from '../../errors.js';
import { awaitExitRecord, statusCode } from '../../state/exit-record.js';
import { serviceRecords } from '../../state/records.js';
import { serviceFiles } from '../../state/service-files.js';
import { ExitWatcher } from '../../sys/exit-watch.js';
import { isSameProcess } from '../../sys/proc.js';
import { replicaLabels } from '../../planner/replicas.js';
import { parseCommandOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { runningProject, withReplicas } from './running-project.js';

const HELP = `Usage: stack wait [OPTIONS] SERVICE [SERVICE...]

Block until the named services' running processes stop (their replicas and their one-offs of
\`stack run\` too), printing how each ended, and exit with the status code of the last one to
stop (128 + the signal's number for one a signal ended).

Options:
      --down-project   Take the project down (as \`stack down\`) once they have stopped
  -h, --help           Print this help
`;

/** A process waited for: the service (record key) it runs, as `ps` names it, and its monitor. */
interface Waited {
  readonly key: string;
  readonly label: string;
  readonly pid: number;
  readonly startTime: number;
  readonly monitor: { readonly pid: number; readonly startTime: number } | undefined;
}

/** Runs `stack wait`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('wait', ctx.args, {
    'down-project': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UserError('CLI_BAD_ARGUMENTS', 'stack wait needs at least one service', 'e.g. stack wait migrate');
  const { env, name, project } = await runningProject(ctx, 'wait', positionals);
  const named: readonly string[] = positionals;
  const keys = new Set(project ? withReplicas(project, named) : []);
  const { records } = await serviceRecords.list(env.roots, name);
  const labels = replicaLabels(records.filter((r) => r.oneOff === undefined).map((r) => r.service));
  const candidates: Waited[] = records.flatMap((r) =>
    r.process && (keys.has(r.service) || (r.oneOff !== undefined && named.includes(r.oneOff.service)))
      ? [{ key: r.service, label: labels.get(r.service) ?? r.service, ...r.process, monitor: r.monitor as Waited['monitor'] }]
      : [],
  );
  // The order they stopped in, as the watches tell it: the last one's status is the answer.
  const stopped: Promise<{ waited: Waited; status: number }>[] = [];
  const order: Waited[] = [];
  const watcher = ExitWatcher.open();
  try {
    for (const waited of candidates) {
      const exited = exitOf(waited, watcher);
      if (exited === undefined) continue; // not running now: nothing to wait for
      stopped.push(
        exited.then(async () => {
          order.push(waited);
          const record = await awaitExitRecord(serviceFiles(env.roots, name, waited.key).exit, waited, waited.monitor);
          const status = record ? statusCode(record) : 1;
          ctx.stdout.write(`${waited.label} ${record ? `exited with status code ${status}` : 'exited (no exit record)'}\n`);
          return { waited, status };
        }),
      );
    }
    if (stopped.length === 0) {
      throw new UserError('NOTHING_RUNNING', `stack wait: no running process of ${positionals.map((s) => `"${s}"`).join(', ')} in project ${name}`, 'see `stack ps -a`');
    }
    const ends = await Promise.all(stopped);
    const last = order.at(-1);
    const status = ends.find((e) => e.waited === last)?.status ?? 0;
    if (values['down-project']) {
      const down = await (await import('./down.js')).run({ ...ctx, args: [] });
      if (down !== 0) return down;
    }
    return status;
  } finally {
    watcher?.close(); // its poll thread holds the event loop while anything is watched
  }
}

/**
 * Resolves once `waited`'s process has exited: told by the exit watcher through a pidfd, or, where
 * there are none (or the watches broke), seen gone from /proc every 100 ms. Undefined when it
 * does not run now.
 */
function exitOf(waited: Waited, watcher: ExitWatcher | undefined): Promise<void> | undefined {
  const polled = (): Promise<void> =>
    new Promise((resolve) => {
      const look = (): void => void (isSameProcess(waited.pid, waited.startTime) ? setTimeout(look, 100) : resolve());
      look();
    });
  if (watcher === undefined) return isSameProcess(waited.pid, waited.startTime) ? polled() : undefined;
  let broken = false;
  let resolveExit!: () => void;
  const told = new Promise<void>((resolve) => (resolveExit = resolve));
  const stop = watcher.watch(waited.pid, waited.startTime, resolveExit, () => ((broken = true), resolveExit()));
  if (stop === undefined) return undefined;
  return told.then(() => (broken ? polled() : undefined));
}

// `stack logs`: the services' output from their log files (written by each service's monitor,
// whether or not anything else runs), merged in time order, `name |` prefixed; -f follows;
// --since and --until choose lines by their time, in the forms `docker compose logs` takes.
import { closeSync, existsSync, readdirSync } from 'node:fs';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { projectNameFromContext } from '../project.js';
import { closest } from '../suggest.js';
import { lineFormatter } from '../render/log-prefix.js';
import { replicaKeys, replicaOf } from '../../planner/replicas.js';
import { readLogLines, readLogToFollow, type FollowStart, type LogLine, followLogs } from '../../runtime/index.js';
import { runtimeRoot, serviceFiles } from '../../state/service-files.js';
import { stateRoots, type StateRoots } from '../../state/paths.js';
import { UserError } from '../../errors.js';
import { parseLogTime } from '../log-time.js';

const HELP = `Usage: stack logs [OPTIONS] [SERVICE...]

Print the services' output (all services when none is named), oldest first.

Options:
  -f, --follow          Keep printing new output until Ctrl-C
  -t, --timestamps      Put each line's time first
  -n, --tail N          Only the last N lines of each service
      --since TIME      Only lines from TIME on: 2024-01-02T15:04:05Z, 2024-01-02, a Unix time,
                        or a duration back from now (42m, 1h30m)
      --until TIME      Only lines up to TIME (the same forms; --until=-1h is an hour from now);
                        -f stops following then
      --no-log-prefix   Print lines without the "name |" prefix
      --no-color        Print the "name |" prefixes without colours
      --index N         Of a scaled service, only replica N
  -h, --help            Print this help
`;

/** How often -f looks at the log files. */
const FOLLOW_POLL_MS = 100;

/** Runs `stack logs`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'logs',
    ctx.args,
    {
      follow: { type: 'boolean', short: 'f', default: false },
      timestamps: { type: 'boolean', short: 't', default: false },
      tail: { type: 'string', short: 'n' },
      since: { type: 'string' },
      until: { type: 'string' },
      'no-log-prefix': { type: 'boolean', default: false },
      'no-color': { type: 'boolean', default: false },
      index: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const tail = values.tail === undefined ? undefined : Number(values.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `--tail wants a whole number of lines, not "${values.tail}"`, 'e.g. stack logs --tail 50 web');
  }
  const now = Date.now();
  const since = values.since === undefined ? undefined : parseLogTime('--since', values.since, now);
  const until = values.until === undefined ? undefined : parseLogTime('--until', values.until, now);
  /** Within --since and --until (log times compare as text: logTimeOf). */
  const within = (line: LogLine): boolean => (since === undefined || line.time >= since) && (until === undefined || line.time <= until);
  const project = await projectNameFromContext(ctx);
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const known = servicesWithLogs(roots, project);
  if (known.length === 0) {
    throw new UserError('NO_LOGS', `project "${project}" has no service output`, 'start it with `stack up`; logs are removed by `stack down`');
  }
  const withLogs = Object.fromEntries(known.map((k) => [k, true]));
  for (const name of positionals) {
    if (!known.includes(name) && replicaKeys(withLogs, name).length === 0) {
      const near = closest(name, known);
      throw new UserError('SERVICE_UNKNOWN', `project "${project}" has no logs of a service "${name}"`, near ? `did you mean ${near}?` : `services with logs: ${known.join(', ')}`);
    }
  }
  // A scaled service's name stands for all its replicas (planner/replicas.ts); --index N for its Nth.
  const replicas = (n: string): string[] => replicaKeys(withLogs, n);
  const index = values.index === undefined ? undefined : Number(values.index);
  if (index !== undefined) {
    if (!(Number.isInteger(index) && index >= 1)) throw new UserError('CLI_BAD_ARGUMENTS', `--index wants a replica number from 1, not "${values.index}"`, 'e.g. stack logs --index 2 web');
    if (positionals.length !== 1) throw new UserError('CLI_BAD_ARGUMENTS', '--index wants one SERVICE', 'e.g. stack logs --index 2 web');
  }
  const services = positionals.length ? [...new Set(positionals.flatMap((n) => (index === undefined ? replicas(n) : replicas(n).filter((k) => replicaOf(k).index === index))))] : known;
  if (index !== undefined && services.length === 0) {
    throw new UserError('SERVICE_UNKNOWN', `service "${positionals[0]}" has no replica ${index} with logs`, `its replicas with logs: ${replicas(positionals[0]!).map((k) => replicaOf(k).index).join(', ')}`);
  }
  // With --index, labelled among the service's replicas (web-2), as ps names them.
  const format = lineFormatter(index === undefined ? services : replicas(positionals[0]!), {
    prefix: !values['no-log-prefix'],
    colour: !values['no-color'] && (ctx.stdout as NodeJS.WriteStream).isTTY === true,
    timestamps: values.timestamps,
  });
  const print = (service: string, line: LogLine) => {
    if (within(line)) ctx.stdout.write(`${format(service, line)}\n`);
  };

  // Followed: each live file is read through a descriptor the following goes on with, so that
  // no line written between the two is lost or told twice (runtime/follow.ts readLogToFollow).
  const starts = new Map<string, FollowStart>();
  const closeStarts = (): void => {
    for (const start of starts.values()) closeSync(start.fd);
    starts.clear();
  };
  let past: { service: string; line: LogLine }[];
  try {
    past = services.flatMap((service) => {
      const log = serviceFiles(roots, project, service).log;
      const options = tail === undefined ? {} : { tail };
      if (!values.follow) return readLogLines(log, options).map((line) => ({ service, line }));
      const { lines, start } = readLogToFollow(log, options);
      if (start !== undefined) starts.set(log, start);
      return lines.map((line) => ({ service, line }));
    });
  } catch (e) {
    closeStarts();
    throw new UserError('LOGS_UNREADABLE', `cannot read the logs of project "${project}": ${e instanceof Error ? e.message : String(e)}`, 'stack ps shows what runs; try again');
  }
  // Times are RFC 3339 with a fixed width, so string order is time order; the sort is stable.
  // --tail takes each service's last lines, then --since and --until choose among them, as Docker does.
  past.sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : 0));
  for (const { service, line } of past) print(service, line);
  // Nothing can come after --until once it has passed: no following then (Docker's rule too).
  // Two polls past it: a line is stamped as its first byte is read and written after
  // (native/launcher/log.c); print() leaves out anything past --until.
  const endMs = until === undefined ? undefined : Date.parse(`${until.slice(0, 23)}Z`) + 1 + 2 * FOLLOW_POLL_MS;
  if (!values.follow || (endMs !== undefined && endMs <= Date.now())) {
    closeStarts();
    return 0;
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // --until to come: the following ends then, as a Ctrl-C would end it, looked at again on the
  // wall clock (a timer waits 24.8 days at most, and on a clock the wall clock's changes do not
  // move).
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = endMs! - Date.now();
    if (left <= 0) onSignal();
    else timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
  };
  if (endMs !== undefined) arm();
  try {
    const logs = services.map((service) => ({ service, path: serviceFiles(roots, project, service).log }));
    await followLogs(logs, print, stop.signal, FOLLOW_POLL_MS, starts);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/** Services of the project that have a log file, sorted. */
function servicesWithLogs(roots: StateRoots, project: string): string[] {
  const runtime = runtimeRoot(roots, project);
  if (!existsSync(runtime)) return [];
  return readdirSync(runtime, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(serviceFiles(roots, project, d.name).log))
    .map((d) => d.name)
    .sort();
}

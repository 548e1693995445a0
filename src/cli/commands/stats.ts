// `stack stats [-a] [SERVICE...]`: live usage of each running service (-a: the stopped ones too,
// with zeros) as `docker compose stats`
// shows it — CPU % (between two samples), memory usage / limit and %, network and block I/O,
// pids — from its cgroup (v1 or v2) and its netns (stats-sample.ts). On a terminal the table is
// redrawn in place every second until ^C; elsewhere it is printed every second; --no-stream
// prints it once (after the two samples CPU % needs). --format json: one JSON object per service
// per refresh, with docker's fields. Read-only: takes no lock.
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { UserError } from '../../errors.js';
import { formatTable } from '../render/table.js';
import { binarySize, decimalSize, percent } from '../render/stats-format.js';
import { runningProject, withReplicas } from './running-project.js';
import { projectServices, type RunningService } from './service-cgroups.js';
import { cpuPercent, sampleService, type UsageSample } from './stats-sample.js';

const HELP = `Usage: stack stats [OPTIONS] [SERVICE...]

Show the live resource usage of the running services (all of them when none is named).

Options:
  -a, --all             Show the stopped services too (with zero figures)
      --no-stream       Print the figures once and exit
      --format FORMAT   table (default) or json (one object per service and refresh)
      --no-trunc        Do not truncate the output (names are never truncated)
  -h, --help            Print this help
`;

/** The figures of a service that does not run. */
const IDLE: UsageSample = { memoryBytes: 0, memoryLimitBytes: 0, cpuNs: 0, pids: 0, netRxBytes: 0, netTxBytes: 0, blockReadBytes: 0, blockWriteBytes: 0, atNs: 0n };

/** Time between two samples (docker stats refreshes about once a second). */
export const STATS_INTERVAL_MS = 1000;

/** One service's row, with docker's JSON field names. */
export interface StatsRow {
  readonly Name: string;
  readonly Service: string;
  readonly CPUPerc: string;
  readonly MemUsage: string;
  readonly MemPerc: string;
  readonly NetIO: string;
  readonly BlockIO: string;
  readonly PIDs: string;
}

/** The row of `service` from two samples of it. */
export function statsRow(name: string, service: string, before: UsageSample, after: UsageSample): StatsRow {
  return {
    Name: name,
    Service: service,
    CPUPerc: percent(cpuPercent(before, after)),
    MemUsage: `${binarySize(after.memoryBytes)} / ${binarySize(after.memoryLimitBytes)}`,
    MemPerc: percent(after.memoryLimitBytes > 0 ? (after.memoryBytes / after.memoryLimitBytes) * 100 : 0),
    NetIO: `${decimalSize(after.netRxBytes)} / ${decimalSize(after.netTxBytes)}`,
    BlockIO: `${decimalSize(after.blockReadBytes)} / ${decimalSize(after.blockWriteBytes)}`,
    PIDs: String(after.pids),
  };
}

/** The table of `rows`, docker's columns (no CONTAINER ID: a service has none). */
export function statsTable(rows: readonly StatsRow[]): string {
  return formatTable([
    ['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
    ...rows.map((r) => [r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]),
  ]);
}

/** Runs `stack stats`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'stats',
    ctx.args,
    {
      all: { type: 'boolean', short: 'a', default: false },
      'no-stream': { type: 'boolean', default: false },
      format: { type: 'string', default: 'table' },
      'no-trunc': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  tableOrJson(values.format);
  const { env, name, project } = await runningProject(ctx, 'stats', positionals);
  const wanted = new Set(project ? withReplicas(project, positionals) : positionals);
  const nameOf = (s: string) => project?.services[s]?.containerName ?? `${name}-${s}-1`;
  const tty = (ctx.stdout as NodeJS.WriteStream).isTTY === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Samples by service, kept for the next CPU % (keyed by the process, so a restart starts anew).
    let previous = new Map<string, { key: string; sample: UsageSample }>();
    const sampleAll = async (services: readonly RunningService[]) => {
      const next = new Map<string, { key: string; sample: UsageSample }>();
      await Promise.all(
        services.map(async (s) => {
          const sample = await sampleService(s.pid, s.cgroups).catch(() => undefined);
          if (sample) next.set(s.name, { key: `${s.pid}:${s.startTime}`, sample });
        }),
      );
      return next;
    };
    const pick = (s: string) => wanted.size === 0 || wanted.has(s);
    const services = async () => {
      const { running, stopped } = await projectServices(env.roots, name);
      return { running: running.filter((s) => pick(s.name)), stopped: values.all ? stopped.filter(pick) : [] };
    };
    previous = await sampleAll((await services()).running);
    for (;;) {
      await sleep(STATS_INTERVAL_MS, stop.signal);
      if (stop.signal.aborted) return 0;
      const { running, stopped } = await services();
      const now = await sampleAll(running);
      const rows = [
        ...[...now.entries()].map(([service, { key, sample }]) => {
          const before = previous.get(service);
          return statsRow(nameOf(service), service, before?.key === key ? before.sample : sample, sample);
        }),
        // -a: a stopped service uses nothing (docker stats -a shows zeros); so does one that
        // ended between the listing and its sample
        ...(values.all ? [...stopped, ...running.map((r) => r.name)] : []).filter((s) => !now.has(s)).map((s) => statsRow(nameOf(s), s, IDLE, IDLE)),
      ].sort((a, b) => (a.Service < b.Service ? -1 : 1));
      previous = now;
      if (values.format === 'json') ctx.stdout.write(rows.map((r) => JSON.stringify(r) + '\n').join(''));
      else ctx.stdout.write((tty && !values['no-stream'] ? '\x1b[H\x1b[2J' : '') + statsTable(rows));
      if (values['no-stream']) return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

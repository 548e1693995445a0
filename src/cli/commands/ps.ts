// `stack ps`: one line per service of the project: whether its process runs (the kernel's
// answer, from observe), its health, restarts and published ports (the supervisor's, when it
// runs). An image service shows its image, and the ports its image exposes that nothing
// publishes (`5432/tcp`, as docker ps does). Read-only: takes no lock, needs no spec file with -p NAME.
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { loadFromContext, projectNameFromContext } from '../project.js';
import { observeProcesses } from '../../state/observe.js';
import { cgroupPaused, pausedMarks } from '../../state/probe.js';
import { pausedMarksDir } from '../../state/service-files.js';
import { stateRoots } from '../../state/paths.js';
// From its module, not the supervisor's index: that one brings the code that starts, waits for
// and stops supervisors (a chunk of its own, 7 KB), none of which `ps` runs.
import { publishedStatus, supervisorStatus } from '../../supervisor/control.js';
import { supervisorPaths } from '../../supervisor/paths.js';
import type { ServiceStatus } from '../../supervisor/protocol.js';
import { UserError } from '../../errors.js';
import { closest } from '../suggest.js';
import { readSnapshot } from '../../state/snapshot.js';
import { replicaOf } from '../../planner/replicas.js';
import { mark } from '../../trace.js';
import { describeExit, readExitRecord } from '../../state/exit-record.js';
import { serviceFiles } from '../../state/service-files.js';

const HELP = `Usage: stack ps [OPTIONS] [SERVICE...]

List the project's services (all when none is named): state, health, pid, restarts and
published ports.

Options:
  -a, --all             Show the one-offs of \`stack run\` too (as compose's ps -a does)
      --status STATE    Only the services in STATE: running, restarting, paused, exited or
                        created (compose's removing and dead match none here); repeatable; with
                        it, the one-offs of \`stack run\` show too (as in compose)
      --filter status=STATE
                        The same as --status STATE (compose's only filter)
      --services        Print the services' names only, one a line
  -q, --quiet           Print the pid of each listed service that runs, one a line (a service's
                        process is its ID here: compose prints container IDs)
      --format FORMAT   table (default) or json
  -h, --help            Print this help
`;

/** The states --status takes: compose's; stack shows running, restarting, exited (an ended service), paused and created (never started). */
const STATES = ['running', 'restarting', 'exited', 'created', 'paused', 'removing', 'dead'] as const;

/** One row of `stack ps`. */
export interface PsRow {
  /** The service's name, or `SERVICE-N` for each replica of a scaled service (compose's PROJECT-SERVICE-N). */
  readonly name: string;
  /** The service it is (a replica's service) and its replica number. */
  readonly service: string;
  readonly index: number;
  readonly state: string;
  readonly health: string | null;
  readonly pid: number | null;
  readonly restarts: number;
  readonly ports: readonly string[];
  /** The image it runs (as the spec names it), null for a host program. */
  readonly image: string | null;
}

/** Runs `stack ps`. */
export async function run(ctx: CommandContext): Promise<number> {
  mark('ps: begin');
  const { values, positionals } = parseCommandOptions(
    'ps',
    ctx.args,
    {
      all: { type: 'boolean', short: 'a', default: false },
      status: { type: 'string', multiple: true, default: [] as string[] },
      filter: { type: 'string', multiple: true, default: [] as string[] },
      services: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  tableOrJson(values.format);
  if (values.quiet && values.services) throw new UserError('CLI_BAD_ARGUMENTS', 'ps: -q and --services print different things: give one', 'e.g. stack ps -q web');
  const statuses = [
    ...values.status,
    ...values.filter.map((f) => {
      const m = /^status=(.+)$/.exec(f);
      if (m === null) throw new UserError('CLI_BAD_ARGUMENTS', `--filter ${f}: ps filters by status only`, 'e.g. stack ps --filter status=running');
      return m[1]!;
    }),
  ];
  const unknown = statuses.find((state) => !(STATES as readonly string[]).includes(state));
  if (unknown !== undefined) {
    throw new UserError('CLI_BAD_ARGUMENTS', `--status takes ${STATES.join(', ')}, not "${unknown}"`, 'e.g. stack ps --status running');
  }
  const project = await projectNameFromContext(ctx);
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  mark('ps: named');
  // Its processes only: ps shows no namespace, link or cgroup (state/observe.ts observeProcesses).
  const [live, snapshot] = await Promise.all([observeProcesses(project, { roots }), readSnapshot(roots, project).catch(() => undefined)]);
  // --status shows the one-offs too, as compose's does (All when a status is given).
  // Named services (a scaled one's name stands for its replicas; a one-off is its service's):
  // one the project neither has nor had is a mistake, with the nearest name.
  const ownService = (s: (typeof live.services)[string]): string => s.oneOff ?? replicaOf(s.name).service;
  if (positionals.length > 0) {
    const known = [...new Set([...Object.values(live.services).map(ownService), ...Object.keys(snapshot?.project.services ?? {}).map((k) => replicaOf(k).service)])].sort();
    // Not up (before the first up, after down): the spec's names are known too, as compose's ps
    // lists nothing for a service of the file that has no container.
    const unknown = positionals.filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      const spec = await loadFromContext(ctx, true).catch(() => undefined);
      for (const name of Object.keys(spec?.services ?? {})) known.push(name);
      for (const name of spec?.disabledServices ?? []) known.push(name);
    }
    for (const name of positionals) {
      if (known.includes(name)) continue;
      const near = closest(name, known);
      throw new UserError('SERVICE_UNKNOWN', `project "${project}" has no service "${name}"`, near ? `did you mean ${near}?` : known.length ? `its services: ${known.join(', ')}` : 'nothing of it is up');
    }
  }
  const named = new Set(positionals);
  const shown = Object.values(live.services).filter((s) => (values.all || statuses.length > 0 || s.oneOff === undefined) && (named.size === 0 || named.has(ownService(s))));
  // The supervisor's side from the status it publishes, while that agrees with the kernel's view
  // of every service shown; else asked over its socket (it ticks, then answers).
  const seen = new Map(shown.map((s) => [s.name, s.process?.alive === true ? s.process.pid : null]));
  const published = await publishedStatus(project, roots, seen);
  mark('ps: observed');
  const status = published === 'none' ? undefined : (published ?? (await supervisorStatus(project, roots)));
  mark('ps: observed and answered');
  // `up` does not wait for a supervisor it starts: one that failed at its start shows here. Only
  // while a service's record names a process (running, or ended without being stopped): a
  // project stopped on purpose (`stop`, a Ctrl-C of `up`) left its supervisor stopped with it.
  if (status === undefined && Object.values(live.services).some((s) => s.process !== null)) {
    ctx.stderr.write(
      `warning: the supervisor of project ${project} does not run or does not answer: no restart, healthcheck, published port or DNS answer is served (its log: ${supervisorPaths(roots, project).log}); \`stack up -d\` starts it again\n`,
    );
  }
  const bySupervisor = new Map<string, ServiceStatus>(status?.services.map((s) => [s.name, s]) ?? []);
  // Those `stack pause` marked: their freezer says whether they still are (one listing, most often of nothing).
  const paused = pausedMarks(pausedMarksDir(roots, project));
  // A service with replicas beyond the first shows each as SERVICE-N (one of one keeps its name).
  const scaled = new Set(Object.keys(live.services).flatMap((k) => (replicaOf(k).index > 1 ? [replicaOf(k).service] : [])));
  const rowName = (key: string): string => {
    const r = replicaOf(key);
    return scaled.has(r.service) && live.services[key]?.oneOff === undefined ? `${r.service}-${r.index}` : key;
  };
  // How a service ended, as its exit record says it: a one-off's before what the supervisor says
  // (`stack run` writes its command's end there once the one-off is stopped, which the supervisor
  // may have described before: its init's SIGTERM), any other's when no supervisor says it (the
  // one a foreground `up` stopped with its services, or that `stop` left after the last exit).
  const recordedEnd = (s: (typeof shown)[number]): string | undefined => {
    const ended = readExitRecord(serviceFiles(roots, project, s.name).exit);
    return ended === undefined ? undefined : describeExit(ended);
  };
  const endOf = (s: (typeof shown)[number], sup: ServiceStatus | undefined): string | undefined =>
    s.oneOff !== undefined ? (recordedEnd(s) ?? sup?.lastExit) : (sup?.lastExit ?? recordedEnd(s));
  const all: PsRow[] = shown
    .sort((a, b) => {
      const x = replicaOf(a.name);
      const y = replicaOf(b.name);
      return x.service !== y.service ? (x.service < y.service ? -1 : 1) : x.index - y.index;
    })
    .map((s) => {
      const sup = bySupervisor.get(s.name);
      const running = s.process?.alive === true;
      const spec = snapshot?.project.services[s.name];
      const published = new Set(spec?.ports.map((p) => `${p.containerPort}/${p.protocol}`) ?? []);
      // What the image and the spec's `expose:` declare that nothing publishes (as `docker ps` shows them: 8080/tcp).
      const declared = [...(spec?.imageRoot?.exposedPorts ?? []), ...(spec?.expose ?? []).map((e) => (e.includes('/') ? e : `${e}/tcp`))];
      const exposed = [...new Set(declared)].filter((p) => !published.has(p));
      return {
        name: rowName(s.name),
        service: replicaOf(s.name).service,
        index: replicaOf(s.name).index,
        // A running one whose cgroups are frozen (`stack pause`) is paused, as Docker shows it.
        state: running
          ? paused.has(s.name) && cgroupPaused(s.cgroupDirs) ? 'paused' : 'running'
          : sup?.state === 'restarting' ? 'restarting' : s.created ? 'created' : (endOf(s, sup) ?? 'exited'),
        health: running ? (sup?.health ?? null) : null,
        pid: running ? s.process!.pid : null,
        restarts: sup?.restarts ?? 0,
        ports: [
          ...(sup?.ports.map((p) => (p.boundPort !== undefined ? `${p.published.replace(/:0\//, `:${p.boundPort}/`)}->${p.target}` : `${p.published} (${p.error ?? 'not bound'})`)) ?? []),
          ...exposed,
        ],
        image: spec?.image ?? null,
      };
    });
  // An exit shows how it ended (`exited with code 1`): its state for --status is `exited`.
  const stateOf = (row: PsRow): string => (['running', 'restarting', 'paused', 'created'].includes(row.state) ? row.state : 'exited');
  const rows = statuses.length === 0 ? all : all.filter((r) => statuses.includes(stateOf(r)));
  if (values.quiet) {
    // compose's `ps -q` prints container IDs; a service's here is its process (what `kill`,
    // `nsenter -t` and /proc take): one a line for each listed row that runs, whatever --format says.
    ctx.stdout.write(rows.flatMap((r) => (r.pid === null ? [] : [`${r.pid}\n`])).join(''));
    return 0;
  }
  if (values.services) {
    // compose's `ps --services`: the services' names (a scaled service's once, a one-off's as the
    // service it copies), whatever --format says.
    const serviceOf = new Map(shown.map((s) => [rowName(s.name), ownService(s)]));
    const names = [...new Set(rows.map((r) => serviceOf.get(r.name) ?? r.service))];
    ctx.stdout.write(names.map((n) => `${n}\n`).join(''));
    return 0;
  }
  if (values.format === 'json') {
    ctx.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (all.length === 0 && named.size === 0) {
    ctx.stderr.write(`project "${project}" has no services on this host\n`);
    return 0;
  }
  // The IMAGE column only where some service runs an image: a host-program project's table is as it was.
  const images = rows.some((r) => r.image !== null);
  const table = [
    ['NAME', ...(images ? ['IMAGE'] : []), 'STATE', 'HEALTH', 'PID', 'RESTARTS', 'PORTS'],
    ...rows.map((r) => [r.name, ...(images ? [r.image ?? '-'] : []), r.state, r.health ?? '-', r.pid === null ? '-' : String(r.pid), String(r.restarts), r.ports.join(', ') || '-']),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  ctx.stdout.write(table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
  return 0;
}

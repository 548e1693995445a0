// `stack ls`: every project on this host, as `docker compose ls` lists them — its name, its
// status (`running(2), exited(1)`: each service counted by state, states sorted as compose does),
// services running of total, its folder and its spec files. Needs no spec: the projects are the
// state folders under STACK_ROOT, each observed (the kernel's answer) and asked of its
// supervisor (restarting), the folder and files from the snapshot the last `up` wrote.
// Read-only: takes no lock. Without -a, only projects with a running service (as compose).
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { UserError } from '../../errors.js';
import { listProjects, observeProcesses } from '../../state/observe.js';
import { stateRoots, type StateRoots } from '../../state/paths.js';
import { readSnapshot } from '../../state/snapshot.js';
import { supervisorStatus } from '../../supervisor/index.js';
import { formatTable } from '../render/table.js';

const HELP = `Usage: stack ls [OPTIONS]

List the projects on this host (no spec file needed).

Options:
  -a, --all             Show every project (default: those with a running service)
      --filter FILTER   Only projects matching it: name=TEXT (part of the name)
      --format FORMAT   table (default) or json
  -q, --quiet           Only the names
  -h, --help            Print this help
`;

/** One project as `stack ls` shows it. */
export interface ProjectSummary {
  readonly name: string;
  /** `running(2), exited(1)`, as compose prints it. */
  readonly status: string;
  readonly running: number;
  /** Services of the project (those the last `up` applied, else those with a record). */
  readonly total: number;
  /** The project folder, when the last `up` recorded it. */
  readonly workingDir: string | null;
  /** Its spec files (absolute), when the last `up` recorded them. */
  readonly configFiles: readonly string[];
}

/** Compose's combined status: each state and its count, states sorted, comma separated. */
export function combinedStatus(states: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((s) => `${s}(${counts.get(s)})`)
    .join(', ');
}

/** The summary of one project, or undefined when nothing of it runs or ran (no service record, no snapshot). */
export async function summarizeProject(roots: StateRoots, name: string): Promise<ProjectSummary | undefined> {
  const [live, snapshot] = await Promise.all([observeProcesses(name, { roots, locked: false }), readSnapshot(roots, name)]);
  const services = Object.values(live.services).filter((s) => s.oneOff === undefined);
  if (services.length === 0 && snapshot === undefined) return undefined;
  // The supervisor only when something may be restarting (it answers on a socket: skip it for a dead project).
  const status = services.length > 0 ? await supervisorStatus(name, roots) : undefined;
  const restarting = new Set(status?.services.filter((s) => s.state === 'restarting').map((s) => s.name) ?? []);
  const states = services.map((s) => (s.process?.alive === true ? 'running' : restarting.has(s.name) ? 'restarting' : 'exited'));
  const specCount = snapshot ? Object.keys(snapshot.project.services).length : 0;
  return {
    name,
    status: combinedStatus(states),
    running: states.filter((s) => s === 'running').length,
    total: Math.max(specCount, services.length),
    workingDir: snapshot?.project.workingDir ?? null,
    configFiles: snapshot?.project.files ?? [],
  };
}

/** Runs `stack ls`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('ls', ctx.args, {
    all: { type: 'boolean', short: 'a', default: false },
    filter: { type: 'string', multiple: true, default: [] },
    format: { type: 'string', default: 'table' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  tableOrJson(values.format);
  const names = values.filter.map((f) => {
    const m = /^name=(.*)$/.exec(f);
    if (!m) throw new UserError('CLI_BAD_ARGUMENTS', `unknown filter "${f}"`, 'use --filter name=TEXT');
    return m[1]!;
  });
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const projects = (await listProjects(roots)).filter((p) => names.every((n) => p.includes(n)));
  const summaries = (await Promise.all(projects.map((p) => summarizeProject(roots, p)))).filter(
    (s): s is ProjectSummary => s !== undefined && (values.all || s.running > 0),
  );
  if (values.quiet) {
    ctx.stdout.write(summaries.map((s) => s.name + '\n').join(''));
    return 0;
  }
  if (values.format === 'json') {
    const rows = summaries.map((s) => ({
      Name: s.name,
      Status: s.status,
      ConfigFiles: s.configFiles.join(','),
      Services: `${s.running}/${s.total}`,
      WorkingDir: s.workingDir ?? '',
    }));
    ctx.stdout.write(JSON.stringify(rows) + '\n');
    return 0;
  }
  ctx.stdout.write(
    formatTable([
      ['NAME', 'STATUS', 'SERVICES', 'FOLDER', 'CONFIG FILES'],
      ...summaries.map((s) => [s.name, s.status, `${s.running}/${s.total}`, s.workingDir ?? '-', s.configFiles.join(',') || '-']),
    ]),
  );
  return 0;
}

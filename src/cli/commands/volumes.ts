// `stack volumes`: the project's volumes that are on this host, as `docker compose volumes` lists
// them: those of its spec the project made (its volume records), with their folder present. An
// external volume is no project's, and an anonymous one carries no volume name: compose lists
// only what carries its project label, which docker gives neither. Named services keep the
// volumes they mount, as the last `up` started them. Read-only: takes no lock.
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { loadFromContext, projectNameFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { volumeRecords } from '../../state/records.js';
import { dirPresent } from '../../state/probe.js';
import { stateRoots } from '../../state/paths.js';
import { formatTable } from '../render/table.js';
import { UserError } from '../../errors.js';
import type { Project } from '../../spec/project.js';
import { readSnapshot } from '../../state/snapshot.js';

const HELP = `Usage: stack volumes [OPTIONS] [SERVICE...]

List the named volumes of the project that are on this host (those the named services mount,
when services are named). A volume the spec marks external belongs to no project and is not
listed, nor are the services' anonymous volumes (\`down -v\` removes them with the rest).

Options:
      --format FORMAT   table (default) or json
  -q, --quiet           Print the volume names only
  -h, --help            Print this help
`;

/** One volume as `stack volumes` shows it (docker's field names, as its json format prints them). */
export interface VolumeRow {
  readonly Driver: 'local';
  /** compose's labels of a volume it made, then the spec's, `k=v` comma-separated. */
  readonly Labels: string;
  /** Its folder on the host. */
  readonly Mountpoint: string;
  readonly Name: string;
  readonly Scope: 'local';
}

/** Runs `stack volumes [--format table|json] [-q] [SERVICE...]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('volumes', ctx.args, {
    format: { type: 'string', default: 'table' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  tableOrJson(values.format);
  // The spec names the services and gives the volumes' labels; without names and without a spec
  // file, -p or COMPOSE_PROJECT_NAME names the project, as with compose's.
  let spec: Project | undefined;
  try {
    spec = await loadFromContext(ctx, false, positionals);
  } catch (e) {
    if (positionals.length > 0 || ctx.global.files.length > 0 || !(e instanceof UserError && e.code === 'SPEC_NOT_FOUND')) throw e;
  }
  if (spec !== undefined) assertServices(spec, positionals, 'volumes');
  const project = spec?.name ?? (await projectNameFromContext(ctx));
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  // What the named services mount as the last `up` started them (compose reads the containers'
  // mounts), the spec's when nothing of it was started; a scaled service's replicas mount the same.
  const started = positionals.length > 0 ? (await readSnapshot(roots, project).catch(() => undefined))?.project.services : undefined;
  const mounted =
    positionals.length === 0 || spec === undefined
      ? undefined
      : new Set(positionals.flatMap((n) => (started?.[n] ?? spec.services[n]!).volumes.flatMap((m) => (m.type === 'volume' && m.source !== undefined ? [m.source] : []))));
  // Its volume records alone (not the whole observation of its services' processes and cgroups).
  const { records, warnings } = await volumeRecords.list(roots, project);
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  const listed = records.filter((v) => !v.key.startsWith('anon+') && (mounted === undefined || mounted.has(v.key)));
  const present = await Promise.all(listed.map((v) => dirPresent(v.path)));
  const rows: VolumeRow[] = listed
    .filter((_, i) => present[i])
    .map((v) => {
      const declared = spec?.volumes[v.key]?.labels ?? {};
      const labels = { 'com.docker.compose.project': project, 'com.docker.compose.volume': v.key, ...declared };
      return { Driver: 'local', Labels: Object.entries(labels).map(([k, l]) => `${k}=${l}`).join(','), Mountpoint: v.path, Name: v.name, Scope: 'local' } as const;
    })
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (values.quiet) {
    ctx.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
    return 0;
  }
  if (values.format === 'json') {
    // docker's json format: one object a line.
    ctx.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return 0;
  }
  ctx.stdout.write(formatTable([['DRIVER', 'VOLUME NAME'], ...rows.map((r) => [r.Driver, r.Name])]));
  return 0;
}

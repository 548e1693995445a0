// `stack volumes`: the project's volumes that are on this host, as `docker compose volumes` lists
// them: those the project made (its volume records; an external volume is no project's, and
// compose lists only what carries its project label), with their folder present. Its services'
// anonymous volumes too, which `down -v` removes with the rest (docker lists them in `docker
// volume ls`, labelled anonymous). Named services keep the volumes they mount and their own
// anonymous ones. Read-only: takes no lock.
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { loadFromContext, projectNameFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { observe } from '../../state/observe.js';
import { stateRoots } from '../../state/paths.js';
import { formatTable } from '../render/table.js';
import { UserError } from '../../errors.js';
import type { Project } from '../../spec/project.js';

const HELP = `Usage: stack volumes [OPTIONS] [SERVICE...]

List the volumes of the project that are on this host, its services' anonymous volumes too
(those the named services mount, when services are named). A volume the spec marks external
belongs to no project and is not listed.

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
  // The spec says what named services mount, and the volumes' labels; without names and without
  // a spec file, -p or COMPOSE_PROJECT_NAME names the project, as with compose's.
  let spec: Project | undefined;
  try {
    spec = await loadFromContext(ctx, positionals.length === 0, positionals);
  } catch (e) {
    if (positionals.length > 0 || !(e instanceof UserError && e.code === 'SPEC_NOT_FOUND')) throw e;
  }
  if (spec !== undefined) assertServices(spec, positionals, 'volumes');
  const project = spec?.name ?? (await projectNameFromContext(ctx));
  const mounted = positionals.length === 0 || spec === undefined ? undefined : new Set(positionals.flatMap((n) => spec.services[n]!.volumes.flatMap((m) => (m.type === 'volume' && m.source !== undefined ? [m.source] : []))));
  // An anonymous volume's key names its service (or replica: `worker#2`): runtime/mounts.ts.
  const anonymousOf = (key: string): string | undefined => (key.startsWith('anon+') ? key.slice(5, key.lastIndexOf('+')).split('#')[0] : undefined);
  const named = new Set<string>(positionals);
  const shown = (key: string): boolean => mounted === undefined || mounted.has(key) || named.has(anonymousOf(key) ?? '');
  const live = await observe(project, { roots: stateRoots(ctx.env as NodeJS.ProcessEnv) });
  for (const w of live.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const rows: VolumeRow[] = Object.values(live.volumes)
    .filter((v) => v.present && shown(v.key))
    .map((v) => {
      const declared = spec?.volumes[v.key]?.labels ?? {};
      const own = anonymousOf(v.key) === undefined ? { 'com.docker.compose.volume': v.key } : { 'com.docker.volume.anonymous': '' };
      const labels = { 'com.docker.compose.project': project, ...own, ...declared };
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

// `stack config`: validate the spec and print the normalized project, like `docker compose config`.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext, loadOptions, printLoadWarnings } from '../project.js';
import { renderConfig, renderDocument } from '../../spec/index.js';
import { loadRaw } from '../../spec/load.js';
import { formatVariables, specVariables } from '../../spec/variables.js';
import { usedResources } from '../../spec/used-resources.js';
import { UserError } from '../../errors.js';
import { configHashes, configImages } from './config-hash.js';
import { assertServices } from './assert-services.js';
import { withDependencies } from '../../planner/targets.js';
import type { Project } from '../../spec/project.js';

const HELP = `Usage: stack config [OPTIONS] [SERVICE...]

Validate the spec and print the project as stack reads it (defaults filled in, paths absolute,
variables replaced), as \`docker compose config\` does. Named services are printed with the
services they depend on, and only those (a service behind a profile is enabled by naming it);
--images prints theirs. --services, --volumes, --networks and --hash list the whole project, as
compose's do. A \$ in a printed value is written \$\$, as compose writes it, so that the values
read back as they are.

Options:
      --format FORMAT   yaml (default) or json; with --variables, table (default), json or yaml
      --services        Print the names of the services the active profiles enable, one a line
      --profiles        Print the profiles the services name, one a line
      --volumes         Print the names of the named volumes, one a line
      --networks        Print the names of the networks, one a line
      --images          Print the image of each service that runs one, one a line
      --hash SERVICES   Print \`service hash\` lines, the hash \`up\` compares (SERVICES: a,b or '*')
      --variables       Print the variables the spec files use, whether one is required, its
                        default and its alternate value (\${X:+alternate})
      --environment     Print the variables interpolation reads (the environment over the .env
                        file or --env-file), NAME=value, one a line
      --no-interpolate  Print the merged spec files as written, variables not replaced (nothing
                        normalized or checked beyond the YAML)
  -o, --output FILE     Write the project to FILE instead of standard output
  -q, --quiet           Only validate: print nothing, exit 1 on a bad spec
  -h, --help            Print this help
`;

/** Runs `stack config [--format yaml|json] [--services] [--profiles] [--volumes] [--networks] [--images] [--hash SERVICES] [--variables] [--environment] [--no-interpolate] [-q] [SERVICE...]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('config', ctx.args, {
    format: { type: 'string' },
    services: { type: 'boolean', default: false },
    profiles: { type: 'boolean', default: false },
    volumes: { type: 'boolean', default: false },
    networks: { type: 'boolean', default: false },
    images: { type: 'boolean', default: false },
    hash: { type: 'string' },
    variables: { type: 'boolean', default: false },
    environment: { type: 'boolean', default: false },
    'no-interpolate': { type: 'boolean', default: false },
    output: { type: 'string', short: 'o' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  // compose's order: a list (--services, --volumes, ...) first, then --variables, --environment,
  // and the project, interpolated or not.
  const otherLists = values.volumes || values.networks || values.hash !== undefined || values.profiles || values.images;
  const lists = values.services || otherLists;
  // The merged files as written (compose's model without interpolation).
  const asWritten = () => loadRaw({ ...loadOptions(ctx), interpolate: false });
  if (values['no-interpolate'] && lists) {
    if (otherLists) {
      throw new UserError('CLI_BAD_ARGUMENTS', 'stack config: --no-interpolate lists only --services; the other lists are of the project as interpolated', 'leave out --no-interpolate');
    }
    // compose's: the services of the model as written (their names are never interpolated).
    const raw = await asWritten();
    if (!values.quiet) ctx.stdout.write(lines(Object.keys((raw.doc.services ?? {}) as object)));
    return 0;
  }
  if (values.variables && !lists) {
    const format = values.format ?? 'table';
    if (format !== 'table' && format !== 'json' && format !== 'yaml') {
      throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${format}" for --variables`, 'use --format table, json or yaml');
    }
    // compose's: the variables of the whole merged model, read before interpolation (so one
    // required and unset lists too); names do not select.
    if (positionals.length > 0) ctx.stderr.write('stack config: --variables lists the variables of the whole project; the service names are ignored\n');
    const raw = await asWritten();
    if (!values.quiet) ctx.stdout.write(formatVariables(specVariables(raw.doc), format));
    return 0;
  }
  if (values.environment && !lists) {
    // compose's: what interpolation reads, the process environment over the env files, with
    // COMPOSE_PROJECT_NAME; sorted (--format says nothing here, as in compose).
    const raw = await loadRaw(loadOptions(ctx));
    if (values.quiet) return 0;
    await printLoadWarnings(ctx, raw.warnings);
    ctx.stdout.write(lines(Object.entries(raw.env).map(([k, v]) => `${k}=${v}`).sort()));
    return 0;
  }
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${format}"`, 'use --format yaml or --format json');
  }
  if (values['no-interpolate']) {
    // compose's: the merged model as written (names do not select it); variables and $$ stay.
    if (positionals.length > 0) ctx.stderr.write('stack config: --no-interpolate prints the whole project; the service names are ignored\n');
    const raw = await asWritten();
    if (values.quiet) return 0;
    const { name: _name, ...rest } = raw.doc;
    return output(ctx, renderDocument({ name: raw.projectName, ...rest }, format), values.output);
  }
  if (values.profiles && !values.quiet) {
    // compose's: every profile a service of the spec names, enabled or not (loaded with all of them on).
    const all = await loadFromContext({ ...ctx, global: { ...ctx.global, profiles: ['*'] } }, values.quiet);
    ctx.stdout.write(lines([...new Set(Object.values(all.services).flatMap((s) => s.profiles))].sort()));
    return 0;
  }
  // compose's --services, --volumes, --networks and --hash ignore the names; the rest selects them.
  const names = values.services || values.volumes || values.networks || values.hash !== undefined ? [] : positionals;
  const project = selected(await loadFromContext(ctx, values.quiet, names), names);
  if (values.quiet) return 0;
  if (values.volumes) {
    ctx.stdout.write(lines(Object.keys(project.volumes)));
    return 0;
  }
  if (values.networks) {
    ctx.stdout.write(lines(Object.keys(project.networks)));
    return 0;
  }
  if (values.hash !== undefined) {
    ctx.stdout.write(await configHashes(project, values.hash, ctx.env as NodeJS.ProcessEnv));
    return 0;
  }
  if (values.images) {
    ctx.stdout.write(configImages(project));
    return 0;
  }
  if (values.services) {
    ctx.stdout.write(lines(Object.keys(project.services)));
    return 0;
  }
  // Interpolated: a $ left in a value (written $$, or a variable's value) is written $$ again,
  // as compose writes it, so the values read back as they are (a $ in a key too, as compose's).
  return output(ctx, renderConfig(project, format).replaceAll('$', () => '$$'), values.output);
}

/** `text` to standard output, or to `file` (compose's --output; the lists go to standard output, as compose's do). */
function output(ctx: CommandContext, text: string, to: string | undefined): number {
  if (to === undefined) {
    ctx.stdout.write(text);
    return 0;
  }
  const file = resolve(ctx.cwd, to);
  try {
    writeFileSync(file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'an error';
    throw new UserError('CONFIG_OUTPUT', `stack config: cannot write ${file}: ${code}`, code === 'ENOENT' ? 'its folder does not exist' : 'choose a file this user may write');
  }
  return 0;
}

/**
 * The project with only `names` and, transitively, what they depend on, as compose's `config
 * SERVICE...` prints them; all of it without names. The networks, secrets and configs the printed
 * services do not use are left out, as the loader leaves out what no enabled service uses
 * (spec/normalize.ts); named volumes stay declared. An unknown name is a UserError with a
 * did-you-mean.
 */
function selected(project: Project, names: readonly string[]): Project {
  if (names.length === 0) return project;
  assertServices(project, names, 'config');
  const keep = new Set(withDependencies(project, names));
  const services = Object.fromEntries(Object.entries(project.services).filter(([name]) => keep.has(name)));
  const used = usedResources(Object.values(services));
  const only = <T>(all: Readonly<Record<string, T>> | undefined, wanted: ReadonlySet<string>): Record<string, T> => Object.fromEntries(Object.entries(all ?? {}).filter(([k]) => wanted.has(k)));
  const secrets = only(project.secrets, used.secrets);
  const configs = only(project.configs, used.configs);
  const { secrets: _s, configs: _c, ...rest } = project;
  return {
    ...rest,
    services,
    networks: only(project.networks, used.networks),
    ...(Object.keys(secrets).length > 0 && { secrets }),
    ...(Object.keys(configs).length > 0 && { configs }),
  };
}

/** One name a line. */
function lines(names: readonly string[]): string {
  return names.map((n) => `${n}\n`).join('');
}

// `stack plan`: observe the host, plan against the spec, print one line per operation.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { hasImages } from './ready-images.js';
import { stateRoots, type StateRoots } from '../../state/paths.js';
import type { Project } from '../../spec/project.js';
import { renderPlan, renderPlanJson } from '../../planner/index.js';
import { observe } from '../../state/index.js';
import { UserError } from '../../errors.js';
import { expandReplicas } from '../../planner/replicas.js';
import { assertRunnableIn } from '../runnable.js';
import { planKeeping } from '../disabled.js';

const HELP = `Usage: stack plan [OPTIONS]

Observe the host, plan against the spec and print the operations \`up\` would run, one a line,
each with its cause and what it waits for. Changes nothing.

Options:
      --format FORMAT   text (default) or json
  -h, --help            Print this help
`;

/** Runs `stack plan [--format text|json]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('plan', ctx.args, {
    format: { type: 'string', default: 'text' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${values.format}"`, 'use --format text or --format json');
  }
  // Each service as its replicas (scale, deploy.replicas), as `up` runs it.
  const spec = expandReplicas(await loadFromContext(ctx));
  await assertRunnableIn(ctx, spec);
  // Image services as the store has their images now (nothing is pulled: a missing image plans as `up` would start it after its pull).
  const project = hasImages(spec) ? await resolveFromStore(spec, stateRoots(ctx.env as NodeJS.ProcessEnv)) : spec;
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const live = await observe(project.name, { roots });
  for (const w of live.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const { plan: p } = await planKeeping(project, live, roots); // refused as up refuses it
  // An image not in the store yet: `up` pulls it (or builds it, for a service with build:) before it does any of this.
  for (const s of Object.values(project.services)) {
    if (s.image !== undefined && s.imageRoot === undefined) ctx.stderr.write(`note: service ${s.name}: up ${s.build !== undefined ? 'builds' : 'pulls'} ${s.image} first (not in the image store)\n`);
  }
  ctx.stdout.write((values.format === 'json' ? renderPlanJson(p) : renderPlan(p)) + '\n');
  return 0;
}

/** The project with the image services whose images are in the store resolved, the others as written. */
async function resolveFromStore(project: Project, roots: StateRoots): Promise<Project> {
  const [{ ImageStore }, { resolveProject }] = await Promise.all([import('../../image/store.js'), import('../../image/resolve.js')]);
  const { withBuiltImageNames } = await import('./build.js');
  return resolveProject(withBuiltImageNames(project), [], ImageStore.forRoots(roots));
}

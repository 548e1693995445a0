// `stack plan`: observe the host, plan against the spec, print one line per operation.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertRunnable, plan, renderPlan, renderPlanJson } from '../../planner/index.js';
import { observe } from '../../state/index.js';
import { UserError } from '../../errors.js';

/** Runs `stack plan [--format text|json]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('plan', ctx.args, {
    format: { type: 'string', default: 'text' },
  });
  if (values.format !== 'text' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${values.format}"`, 'use --format text or --format json');
  }
  const project = await loadFromContext(ctx);
  assertRunnable(project);
  const live = await observe(project.name);
  for (const w of live.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const p = plan(project, live);
  ctx.stdout.write((values.format === 'json' ? renderPlanJson(p) : renderPlan(p)) + '\n');
  return 0;
}

// `stack stop [SERVICE...]`: stop services, dependents first, and keep them stopped (their
// restart policy does not apply) until `stack start` or `stack up`.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { withRenderer, progressMode } from '../render/index.js';
import { timeoutMs } from './executor-env.js';
import { stopServicesNamed } from './lifecycle.js';
import { runningProject, withReplicas } from './running-project.js';

const HELP = `Usage: stack stop [OPTIONS] [SERVICE...]

Stop services (all when none is named), dependents first. They stay stopped until
\`stack start\` or \`stack up\`; networks, volumes and records stay.

Options:
  -t, --timeout N       Seconds to wait for each service to stop (default: its stop_grace_period)
      --progress MODE   auto (default), tty, plain, json or quiet
  -h, --help            Print this help
`;

/** Runs `stack stop`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'stop',
    ctx.args,
    {
      timeout: { type: 'string', short: 't' },
      progress: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const mode = progressMode(values.progress);
  const { env, project } = await runningProject(ctx, 'stop', positionals, timeoutMs(values.timeout, 'stop'));
  if (!project) return 0; // nothing is up: nothing to stop
  const services = positionals.length ? withReplicas(project, positionals) : Object.keys(project.services);
  await withRenderer(mode, ctx.stderr, (sink) => stopServicesNamed({ env, project, services, cause: 'stack stop', sink }));
  return 0;
}

// `stack restart [SERVICE...]`: stop and start the services as they run (config changes are not
// applied: that is `up`), then their dependents with `depends_on.<it>.restart: true`.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { withRenderer, progressMode } from '../render/index.js';
import { timeoutMs } from './executor-env.js';
import { restartServices } from './lifecycle.js';
import { runningProject, withReplicas } from './running-project.js';

const HELP = `Usage: stack restart [OPTIONS] [SERVICE...]

Stop and start services (all when none is named), then the services that depend on them with
depends_on.<it>.restart: true. Services are not recreated: spec changes need \`stack up\`.

Options:
  -t, --timeout N       Seconds to wait for each service to stop (default: its stop_grace_period)
      --no-deps         Don't restart dependent services
      --progress MODE   auto (default), tty, plain, json or quiet
  -h, --help            Print this help
`;

/** Runs `stack restart`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'restart',
    ctx.args,
    {
      timeout: { type: 'string', short: 't' },
      'no-deps': { type: 'boolean', default: false },
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
  const { env, project } = await runningProject(ctx, 'restart', positionals, timeoutMs(values.timeout, 'restart'));
  if (!project) return 0; // nothing is up: nothing to restart
  const services = positionals.length ? withReplicas(project, positionals) : Object.keys(project.services);
  await withRenderer(mode, ctx.stderr, (sink) => restartServices({ env, project, services, cause: 'stack restart', sink, noDeps: values['no-deps'] }));
  return 0;
}

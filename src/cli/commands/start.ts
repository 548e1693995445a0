// `stack start [SERVICE...]`: start services that were stopped (and what they depend on),
// without recreating them; `--wait` returns once they are ready, as `up --wait` does.
import { waitTimeoutMs } from './wait-ready.js';
import { UserError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { withRenderer, progressMode } from '../render/index.js';
import { startServices } from './lifecycle.js';
import { runningProject, withReplicas } from './running-project.js';
import { withDependencies } from '../../planner/index.js';
import { serviceRecords } from '../../state/records.js';

const HELP = `Usage: stack start [OPTIONS] [SERVICE...]

Start stopped services (all when none is named) and the services they depend on, as they were
created (spec changes need \`stack up\`).

Options:
      --wait             Return once the services are running and healthy (or completed)
      --wait-timeout N   Seconds --wait waits at most
      --progress MODE    auto (default), tty, plain, json or quiet
  -h, --help             Print this help
`;

/** Runs `stack start`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'start',
    ctx.args,
    {
      wait: { type: 'boolean', default: false },
      'wait-timeout': { type: 'string' },
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
  const waitMs = waitTimeoutMs(values['wait-timeout'], 'start');
  const { env, name, project } = await runningProject(ctx, 'start', positionals);
  if (!project) throw new UserError('NOT_CREATED', `stack start: project ${name} has no services to start`, '`stack up` creates and starts them');
  // No name: every service that was created (one never created is left to `up`).
  const created = positionals.length ? [] : (await serviceRecords.list(env.roots, name)).records.map((r) => r.service);
  const services = positionals.length ? withReplicas(project, positionals) : Object.keys(project.services).filter((s) => created.includes(s));
  await withRenderer(mode, ctx.stderr, (sink) => startServices({ env, project, services, cause: 'stack start', sink }));
  if (values.wait) {
    const { waitReady } = await import('./wait-ready.js');
    await waitReady(project, withDependencies(project, services), env, waitMs);
  }
  return 0;
}


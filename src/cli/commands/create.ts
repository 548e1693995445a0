// `stack create [SERVICE...]`, as compose's: everything `up` makes (networks, volumes, each
// service's namespace, veths and record) and no process started: `stack up --no-start`, which is
// what compose's create is too. `stack start` or `stack up` starts the services then; `ps`
// shows them as created until.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';

const HELP = `Usage: stack create [OPTIONS] [SERVICE...]

Create the project's networks, volumes and services (only what changed) without starting any
(\`stack up --no-start\`). Named services come with the services they depend on. \`stack start\`
or \`stack up\` starts them; \`stack ps\` shows them as created until then.

Options:
      --force-recreate      Recreate the services even when their spec is unchanged
      --no-recreate         Never recreate a service that is there (it stays as the last up made it)
      --scale SERVICE=N     Make N replicas of SERVICE (repeatable); overrides scale / deploy.replicas
      --pull POLICY         Pull images first: always, missing, never, or policy (each service's pull_policy)
      --quiet-pull          Pull without printing progress (a failure is still said)
      --build               Build the images of the services that have build: first
      --no-build            Build no image, even one the store lacks (that is an error then)
      --remove-orphans      Remove the services the spec no longer has also when services are named
      --no-lock-wait        Fail at once when another stack command holds the project's lock
      --progress MODE       auto (default), tty, plain, json or quiet
  -y, --yes                 Accepted for compose's sake: stack create asks nothing
  -h, --help                Print this help
`;

/** Runs `stack create`. */
export async function run(ctx: CommandContext): Promise<number> {
  // Checked here, so that an option of up's that create lacks (-d, --wait) is refused as compose refuses it.
  const { values } = parseCommandOptions(
    'create',
    ctx.args,
    {
      'force-recreate': { type: 'boolean', default: false },
      'no-recreate': { type: 'boolean', default: false },
      scale: { type: 'string', multiple: true, default: [] as string[] },
      pull: { type: 'string' },
      'quiet-pull': { type: 'boolean', default: false },
      build: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'remove-orphans': { type: 'boolean', default: false },
      'no-lock-wait': { type: 'boolean', default: false },
      progress: { type: 'string' },
      yes: { type: 'boolean', short: 'y', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const up = await import('./up.js');
  return up.run({ ...ctx, args: ['--no-start', ...ctx.args] }, 'create');
}

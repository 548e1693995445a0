// `stack gc [PROJECT...]`: removes the kernel objects and records of projects nothing holds
// any more (a crashed `up`, a cut-off test run); live projects are listed and left alone.
import { stateRoots } from '../../state/paths.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { openCgroups } from '../../runtime/control.js';
import { collectGarbage, gcCandidates } from '../../executor/gc.js';
import { runningSupervisor } from '../../supervisor/index.js';
import { executorEnv } from './executor-env.js';
import { supervisorControl } from '../../supervisor/index.js';
import { resolveProjectName } from '../../spec/project-name.js';

const HELP = `Usage: stack gc [PROJECT...]

Remove what crashed or cut-off runs left behind: netns, links, cgroups, nftables tables and
records of projects that nothing holds: no stack command holds the project's lock and no
supervisor runs for it. A named PROJECT is collected even when some of its services still run
(a crashed \`up\` leaves them), and only its own objects: gc of \`a\` never touches those of
\`a-b\`. Without a PROJECT, gc looks at every project of the state dir
and under the cgroup hierarchy, and leaves alone any that still has a live process, or that
only the kernel knows and whose cgroups are less than 5 minutes old (a run of another state
root may be starting it).
`;

/** Runs `stack gc`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('gc', ctx.args, { help: { type: 'boolean', short: 'h', default: false } }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)));
  const roots = env.roots;
  const cgroups = await openCgroups();
  const names = positionals.length ? positionals.map((p) => resolveProjectName({ flag: p })) : await gcCandidates(roots, cgroups);
  const outcomes = await collectGarbage(names, env, cgroups, async (p) => (await runningSupervisor(p, roots)) !== undefined, positionals.length > 0);
  for (const o of outcomes) {
    if (o.status === 'live') ctx.stdout.write(`${o.project}: live (${o.detail.join('; ')}), left alone\n`);
    else ctx.stdout.write(`${o.project}: removed ${o.detail.length ? o.detail.join(', ') : 'nothing (already clean)'}\n`);
  }
  if (outcomes.length === 0) ctx.stdout.write('nothing to collect\n');
  return 0;
}

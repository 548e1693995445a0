// `stack pause [SERVICE...]` and `stack unpause [SERVICE...]`, as compose's: every process of a
// running service stopped where it is by freezing its cgroups (the v1 freezer, or v2's
// cgroup.freeze), and let go again. The kernel's freezer state is the only record of it: `ps`
// shows a frozen service as paused; `exec` into one is refused (its command would freeze too);
// a stop, restart or `down` thaws it first, and `kill` with SIGKILL thaws it so that it dies.
import { observe } from '../../state/observe.js';
import { acquireProjectLock } from '../../state/lock.js';
import { cgroupPaused, pausedMarks } from '../../state/probe.js';
import { pausedMarksDir } from '../../state/service-files.js';
import { replicaLabels } from '../../planner/replicas.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { runningProject, withReplicas } from './running-project.js';

const help = (verb: 'pause' | 'unpause'): string => `Usage: stack ${verb} [SERVICE...]

${verb === 'pause' ? 'Pause the running services (all when none is named): every process of each stops where it\nis (its cgroups frozen) until `stack unpause`.' : 'Unpause the services `stack pause` paused (all when none is named).'}

Options:
  -h, --help   Print this help
`;

/** Runs `stack pause`. */
export function run(ctx: CommandContext): Promise<number> {
  return act(ctx, 'pause');
}

/** Runs `stack unpause`. */
export function unpause(ctx: CommandContext): Promise<number> {
  return act(ctx, 'unpause');
}

async function act(ctx: CommandContext, verb: 'pause' | 'unpause'): Promise<number> {
  const { values, positionals } = parseCommandOptions(verb, ctx.args, { help: { type: 'boolean', short: 'h', default: false } }, true);
  if (values.help) {
    ctx.stdout.write(help(verb));
    return 0;
  }
  const { env, name, project } = await runningProject(ctx, verb, positionals);
  if (!project) return 0; // nothing is up
  const services = positionals.length ? withReplicas(project, positionals) : Object.keys(project.services);
  // Under the project's lock: a `down` or `up` acting on the same services meanwhile is waited for.
  const lock = await acquireProjectLock(env.roots, name, { command: `stack ${verb}`, wait: true });
  try {
    const live = await observe(name, { roots: env.roots });
    const labels = replicaLabels(Object.keys(live.services).filter((s) => live.services[s]?.oneOff === undefined));
    const { openCgroups, pauseGroup, unpauseGroup } = await import('../../runtime/control.js');
    const cgroups = await openCgroups();
    const marked = pausedMarks(pausedMarksDir(env.roots, name));
    for (const service of services) {
      const observed = live.services[service];
      // One-offs of `stack run` are left alone, as compose's pause leaves one-off containers.
      if (observed === undefined || observed.oneOff !== undefined) continue;
      const dirs = observed.cgroups.map((c) => c.name);
      const group = cgroups.open(name, service);
      if (verb === 'unpause') {
        // Marked: thawed whether its process still runs or not (a frozen group would freeze its next start).
        if (!marked.has(service)) continue;
        const thawed = await unpauseGroup(env.roots, name, service, group, dirs);
        if (thawed && observed.process?.alive === true) ctx.stderr.write(`${labels.get(service) ?? service} unpaused\n`);
        continue;
      }
      if (observed.process?.alive !== true) continue; // not running: nothing to freeze
      if (marked.has(service) && cgroupPaused(dirs)) continue; // paused already
      await pauseGroup(env.roots, name, service, group, dirs);
      ctx.stderr.write(`${labels.get(service) ?? service} paused\n`);
    }
  } finally {
    await lock.release();
  }
  return 0;
}

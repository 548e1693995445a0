// `stack rm [-f] [-s] [-v] [SERVICE...]`, as compose's: removes the project's stopped services
// (all when none is named) the way `down` removes them (namespace, veths, cgroups, runtime files,
// record), leaving the networks, the named volumes and the services that run. -s stops those
// first; -v removes the services' anonymous volumes too. It asks first unless -f: the answer is
// read from standard input, and none (its end) is no. `stack up` makes them again.
import { readSync } from 'node:fs';
import { apply } from '../../executor/apply.js';
import { planRemove, servicesPart } from '../../planner/index.js';
import { UserError } from '../../errors.js';
import type { LiveState } from '../../state/live.js';
import { replicaLabels, replicaOf } from '../../planner/replicas.js';
import type { Project } from '../../spec/project.js';
import { acquireProjectLock } from '../../state/lock.js';
import { observe } from '../../state/observe.js';
import { readSnapshot } from '../../state/snapshot.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { openRenderer, progressMode } from '../render/index.js';
import { runningProject, withReplicas } from './running-project.js';
import { volumesFromMounts } from '../../runtime/index.js';

const HELP = `Usage: stack rm [OPTIONS] [SERVICE...]

Remove the stopped services (all when none is named): their namespaces, veths, cgroups, files and
records, as \`stack down\` removes them. Networks, named volumes and running services stay;
\`stack up\` makes the services again. Anonymous volumes stay unless -v.

Options:
  -f, --force           Don't ask to confirm the removal
  -s, --stop            Stop the services that run first, and remove them too
  -v, --volumes         Remove the services' anonymous volumes too
      --progress MODE   auto (default), tty, plain, json or quiet
  -h, --help            Print this help
`;

/** Runs `stack rm`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'rm',
    ctx.args,
    {
      force: { type: 'boolean', short: 'f', default: false },
      stop: { type: 'boolean', short: 's', default: false },
      volumes: { type: 'boolean', short: 'v', default: false },
      all: { type: 'boolean', short: 'a', default: false }, // compose's, deprecated there: no effect
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
  const { env, name, project } = await runningProject(ctx, 'rm', positionals);
  if (!project) {
    ctx.stderr.write('No stopped services\n');
    return 0;
  }
  const named = positionals.length > 0 ? new Set(withReplicas(project, positionals)) : undefined;
  // The project's services (not the one-offs of `stack run`, as compose's rm leaves one-off
  // containers), stopped, or any with -s.
  const removable = (live: LiveState): string[] =>
    Object.values(live.services)
      .filter((s) => s.oneOff === undefined && (named === undefined || named.has(s.name)) && (values.stop || s.process?.alive !== true))
      .map((s) => s.name);
  // Asked before the project's lock is taken (the supervisor's restarts take it too), and looked
  // at again under it: what started or went meanwhile is left out.
  const before = await observe(name, { roots: env.roots });
  for (const w of before.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const asked = removable(before);
  if (asked.length === 0) {
    ctx.stderr.write('No stopped services\n');
    return 0;
  }
  const labels = replicaLabels(Object.keys(before.services).filter((s) => before.services[s]?.oneOff === undefined));
  const label = (s: string): string => labels.get(s) ?? s;
  refuseSharedUse(project, before, asked, values.volumes, label);
  const message = `Going to remove ${asked.map(label).join(', ')}`;
  if (values.force) ctx.stdout.write(`${message}\n`);
  else if (!confirmed(ctx, message)) return 0;
  const lock = await acquireProjectLock(env.roots, name, { command: 'stack rm', wait: true });
  try {
    const live = await observe(name, { roots: env.roots });
    const still = new Set(removable(live));
    const removed = asked.filter((s) => still.has(s));
    const left = asked.filter((s) => !still.has(s));
    if (left.length > 0) ctx.stderr.write(`not removed, started or removed meanwhile: ${left.map(label).join(', ')}\n`);
    if (removed.length === 0) return 0;
    // Against the project as applied now: an `up` during the question may have changed it.
    const applied = (await readSnapshot(env.roots, name))?.project;
    refuseSharedUse(applied ?? project, live, removed, values.volumes, label);
    const gone = new Set(removed);
    // The project as up applied it less what goes: a service it lacks is removed with its record.
    const rest: Project = { ...project, services: Object.fromEntries(Object.entries(project.services).filter(([s]) => !gone.has(s))) };
    const part = servicesPart(live, removed, values.volumes);
    const planned = planRemove(part, { volumes: values.volumes, cause: 'stack rm' });
    const renderer = await openRenderer(mode, ctx.stderr);
    try {
      // Not supervised: the supervisor learns of the removals from the records, as of a stop. A
      // service stopped here (-s) runs its pre_stop hooks as it was started.
      const result = await apply(planned, rest, {
        env,
        live: part,
        sink: renderer,
        supervise: false,
        startedAs: async () => applied,
      });
      for (const n of result.notices) renderer.notice(n);
      return 0;
    } finally {
      await renderer.close();
    }
  } finally {
    await lock.release();
  }
}

/**
 * Refuses to remove a service whose namespaces a service that stays and runs lives in
 * (`network_mode`, `pid`, `ipc`: `service:NAME`), or, with -v, whose anonymous volumes it mounts
 * (`volumes_from`): its namespace files, veths and folders would go from under it.
 */
function refuseSharedUse(project: Project, live: LiveState, removed: readonly string[], volumes: boolean, label: (s: string) => string): void {
  const gone = new Set(removed);
  for (const user of Object.values(live.services)) {
    if (gone.has(user.name) || user.process?.alive !== true) continue;
    const spec = project.services[user.name];
    if (spec === undefined) continue;
    const shares = (owner: string): boolean => [spec.networkMode, spec.pidMode, spec.ipcMode].some((m) => m?.kind === 'service' && m.service === owner);
    // volumes_from through another's too (A from B, B from C: A mounts C's)
    const from = volumes ? new Set(volumesFromMounts(project, spec).map(([owner]) => owner.name)) : new Set<string>();
    const mounts = (owner: string): boolean => from.has(owner);
    const owner = removed.find((o) => shares(o) || mounts(o));
    if (owner === undefined) continue;
    const how = shares(owner) ? `runs in its namespaces (\`service:${owner}\`)` : 'mounts its anonymous volumes (volumes_from)';
    // The commands name services (a replica's label is no name they take).
    const [ownerName, userName] = [replicaOf(owner).service, replicaOf(user.name).service];
    throw new UserError(
      'SERVICE_IN_USE',
      `stack rm: service "${label(owner)}" cannot be removed: "${label(user.name)}", which runs, ${how}`,
      `stop it first (\`stack stop ${userName}\`), or remove both (\`stack rm -s ${ownerName} ${userName}\`)`,
    );
  }
}

/** Asks `message`? on stderr and reads the answer from standard input: y or yes is yes; anything else, or its end, no. */
function confirmed(ctx: CommandContext, message: string): boolean {
  ctx.stderr.write(`${message}. Are you sure? [y/N] `);
  const answer = readLine();
  if (answer === undefined) ctx.stderr.write('\n');
  const yes = answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  if (!yes) ctx.stderr.write('nothing removed\n');
  return yes;
}

/** One line of standard input, read synchronously (a terminal gives it once Enter is pressed); undefined at its end. */
function readLine(): string | undefined {
  const buf = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a non-blocking descriptor: not ready yet
        continue;
      }
      return undefined; // no standard input to read (closed, a folder, EIO): no answer
    }
    if (n === 0) return line === '' ? undefined : line;
    const c = buf.toString('latin1', 0, 1);
    if (c === '\n') return line;
    line += c;
  }
}

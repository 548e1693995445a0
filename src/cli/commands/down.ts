// `stack down`: reconcile against an empty project. Works from the records alone (no spec
// needed with -p), whatever happened before: nothing running, a SIGKILLed `up`, objects
// removed by hand. Idempotent. `-v` removes named and anonymous volumes too.
import { mark } from '../../trace.js';
import { readdirSync } from 'node:fs';
import { projectRunDir, stateRoots } from '../../state/paths.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext, projectNameFromContext } from '../project.js';
import { planDown } from '../../planner/index.js';
import { observe } from '../../state/observe.js';
import { apply } from '../../executor/apply.js';
import { emptyProject } from '../../executor/stop-plan.js';
import { executorEnv, timeoutMs } from './executor-env.js';
import { killServiceGroups } from './service-cgroups.js';
import { openRenderer, progressMode } from '../render/index.js';
import { withProjectLock } from './locked.js';
import { supervisorControl } from '../../supervisor/index.js';
import type { LiveState } from '../../planner/live.js';
import { readSnapshot } from '../../state/snapshot.js';
import { UserError } from '../../errors.js';
import type { Project } from '../../spec/project.js';
import type { StateRoots } from '../../state/paths.js';
import type { Renderer } from '../render/index.js';

const HELP = `Usage: stack down [OPTIONS]

Stop and remove the project's services, networks and runtime state (named volumes stay unless -v).
Needs no spec file with -p NAME: it works from what stack recorded.

Options:
  -v, --volumes         Remove named and anonymous volumes too
      --rmi TYPE        Remove the services' images too: all (those the project ran and its spec
                        names, built ones included, each unless another project uses it) or local
                        (the images built for services without an image: name, <project>-<service>)
  -t, --timeout N       Seconds to wait for each service to stop (default: its stop_grace_period)
      --no-lock-wait    Fail at once when another stack command holds the project's lock
      --remove-orphans  Accepted for compose's sake: down always removes every service stack
                        recorded for the project, those the spec no longer has and the one-offs
                        of \`stack run\` too
      --progress MODE   auto (default), tty, plain, json or quiet
  -h, --help            Print this help

Ctrl-C while it waits for another command's lock ends it, nothing done. Once the teardown began,
it goes on to its end; a second Ctrl-C kills the services still stopping.
`;

/**
 * Operations of a teardown running at once (up's walk runs 8). Its steps are short waits on the
 * kernel, mostly serialized there (RTNL, the mount lock): with 8 at a time, `down` of 20 spent
 * three rounds on each kind (stop, detach, remove-netns, remove-service: a walk of ~395 ms); at
 * 32 each kind goes in one (~320 ms).
 */
const DOWN_CONCURRENCY = 32;

/**
 * Whether the project's run folder holds anything but its lock. Listed synchronously (a few
 * names): through libuv's pool, the listing waited ~1-2 ms for the pool's threads to start.
 */
function runFolderHolds(dir: string): boolean {
  try {
    return readdirSync(dir).some((entry) => entry !== 'lock');
  } catch {
    return false;
  }
}

/** Runs `stack down`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('down', ctx.args, {
    volumes: { type: 'boolean', short: 'v', default: false },
    timeout: { type: 'string', short: 't' },
    rmi: { type: 'string' },
    'no-lock-wait': { type: 'boolean', default: false },
    'remove-orphans': { type: 'boolean', default: false }, // what down always does
    progress: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const mode = progressMode(values.progress);
  const rmi = values.rmi;
  if (rmi !== undefined && rmi !== 'all' && rmi !== 'local') {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack down: --rmi ${rmi} is neither all nor local`, 'use --rmi all (the services\' images) or --rmi local (the images built for services without an `image:` name)');
  }
  mark('down: begin');
  const name = await projectNameFromContext(ctx);
  mark('down: named');
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)), timeoutMs(values.timeout, 'down'));
  const renderer = await openRenderer(mode, ctx.stderr);
  // Ctrl-C (or SIGTERM) while it waits for the lock: nothing is done yet, it ends (130). Once the
  // teardown began it goes on to its end, since a `down` cut short leaves half a project behind
  // (for the next one to finish): the first says so, the second kills the services still
  // stopping, their grace periods cut short, as a foreground `up`'s second Ctrl-C does.
  const waiting = new AbortController();
  let tearingDown = false;
  let interrupts = 0;
  const onSignal = (): void => {
    if (!tearingDown) return waiting.abort();
    interrupts++;
    if (interrupts === 1) renderer.notice('interrupted: the teardown goes on to its end (press Ctrl-C again to kill the services still stopping)');
    if (interrupts === 2) void killServiceGroups(env.roots, name).catch(() => undefined); // the stops then see their services gone
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const done = await withProjectLock(ctx, env, name, 'stack down', !values['no-lock-wait'], renderer, async () => {
      tearingDown = true;
      mark('down: locked');
      const live = await observe(name, { roots: env.roots });
      mark('down: observed');
      for (const w of live.warnings) renderer.notice(`warning: ${w}`);
      const runFiles = runFolderHolds(projectRunDir(env.roots, name));
      const plan = planDown(live, { volumes: values.volumes, runFiles, cannotActOnStop: await cannotActOnStopNow(live) });
      mark('down: planned');
      // The services' pre_stop hooks, for the stops whose records say they have some, from the
      // project as the last `up` applied it (compose's down runs them, from the compose file).
      const snapshot = rmi !== undefined ? readSnapshot(env.roots, name) : undefined; // read before the teardown removes it
      const startedAs = async () => (await (snapshot ?? readSnapshot(env.roots, name)))?.project;
      const images = rmi !== undefined ? await servicesImages(ctx, await startedAs(), renderer, rmi) : undefined;
      const result = await apply(plan, emptyProject(name), { env, live, sink: renderer, supervise: false, concurrency: DOWN_CONCURRENCY, startedAs });
      mark('down: applied');
      for (const n of result.notices) renderer.notice(n);
      if (rmi !== undefined) await removeImages(env.roots, name, images, renderer, rmi);
      return true;
    }, waiting.signal).catch((e: unknown) => {
      if (waiting.signal.aborted && e instanceof Error && e.name === 'AbortError') return false;
      throw e;
    });
    return done && interrupts === 0 ? 0 : 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await renderer.close();
  }
}

/**
 * `--rmi all`'s images, each once by its canonical name: those the services ran as the last `up`
 * applied the project (its snapshot, `started`), and those its spec names, when one is found (as
 * compose takes them from its file, so a second `down --rmi all` still removes them). A spec that
 * cannot be loaded is said, and the snapshot's are removed. Undefined when there is neither.
 */
async function servicesImages(ctx: CommandContext, started: Project | undefined, renderer: Renderer, kind: 'all' | 'local'): Promise<string[] | undefined> {
  const [{ withBuiltImageNames }, { defaultImageName }] = await Promise.all([import('./build.js'), import('../../spec/built-image.js')]);
  // `local`: only the images built under the name stack gave them (compose's: no custom tag).
  const names = started === undefined ? [] : Object.values(started.services).flatMap((s) =>
    typeof s?.imageRoot?.reference === 'string' && (kind === 'all' || (s.build !== undefined && s.image === defaultImageName(started, s))) ? [s.imageRoot.reference] : []);
  let found = started !== undefined;
  try {
    const spec = await loadFromContext(ctx, true);
    found = true;
    const named = withBuiltImageNames(spec);
    names.push(...Object.entries(named.services).flatMap(([k, s]) => (s.image !== undefined && (kind === 'all' || (spec.services[k]?.image === undefined && s.build !== undefined)) ? [s.image] : [])));
    // --rmi all: the names a build gave besides (build.tags).
    if (kind === 'all') names.push(...Object.values(spec.services).flatMap((s) => s.build?.tags ?? []));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    if (e.code !== 'SPEC_NOT_FOUND') renderer.notice(`warning: --rmi ${kind}: the spec's images are not removed, it cannot be loaded: ${e.message}`);
  }
  if (!found) return undefined;
  const { parseImageReference } = await import('../../image/reference.js');
  const canonical = names.flatMap((n) => {
    try {
      return [parseImageReference(n).canonical];
    } catch {
      return []; // no image reference: nothing of it can be in the store
    }
  });
  return [...new Set(canonical)];
}

/**
 * `--rmi all`: each of `images` (undefined: neither a snapshot nor a spec named any) removed as \`stack rmi\` removes it (and its layers no other image
 * uses), once the teardown is done. One another project uses is kept, and said so, as compose
 * keeps an image a container of another project uses; one that is not in the store is nothing to
 * do. A failure is said, not thrown: the teardown is done.
 */
async function removeImages(roots: StateRoots, project: string, images: readonly string[] | undefined, renderer: Renderer, kind: 'all' | 'local'): Promise<void> {
  if (images === undefined) return renderer.notice(`--rmi ${kind}: no image to remove (project ${project} has no snapshot and no spec file was found)`);
  if (images.length === 0) return;
  const [{ removeImage, shortName }, { ImageStore }, { humanSize }] = await Promise.all([import('../../image/remove.js'), import('../../image/store.js'), import('../../image/disk-usage.js')]);
  const store = ImageStore.forRoots(roots);
  for (const image of images) {
    try {
      const { reclaimed } = await removeImage(store, roots, image, { force: false });
      renderer.notice(`image ${shortName(image)} removed${reclaimed > 0 ? ` (${humanSize(reclaimed)} freed)` : ''}`);
    } catch (e) {
      if (e instanceof UserError && e.code === 'IMAGE_NOT_FOUND') continue;
      const why = e instanceof Error ? e.message : String(e);
      renderer.notice(e instanceof UserError && e.code === 'IMAGE_IN_USE' ? `warning: ${why}: kept` : `warning: image ${shortName(image)} not removed: ${why}`);
    }
  }
}

/**
 * The running services whose main process cannot act on its stop signal now (runtime/stop.ts
 * cannotActOnStop: one read of its /proc status each): planDown kills them at once and unplugs
 * a network of only such services while they are killed, not after. Not one with pre_stop hooks:
 * its stop runs them first, in the stops' order and with its networks (a hook may take seconds,
 * and talk to the services it depends on).
 */
async function cannotActOnStopNow(live: LiveState): Promise<Set<string>> {
  const running = Object.values(live.services).filter((s) => s.process?.alive === true && s.process.preStop !== true);
  if (running.length === 0) return new Set();
  // The executor's kernel side, which apply() loads next anyway (one pack: `ps` and the rest load none).
  const { cannotActOnStop } = await import('../../executor/kernel.js');
  return new Set(running.filter(({ process: p }) => cannotActOnStop(p!.pid, p!.startTime, p!.stopSignal ?? 'SIGTERM')).map((s) => s.name));
}

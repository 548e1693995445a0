// `stack up [SERVICE...]`: observe → plan → execute under the project's lock, then (unless -d or
// --wait) stream the services' output with a `name |` prefix until Ctrl-C, which stops the
// services gracefully (a second Ctrl-C kills them) and keeps networks and volumes, as compose
// does. Named services come with their dependencies (unless --no-deps); the others are left as
// they are. --wait returns once they are ready; --abort-on-container-exit / --exit-code-from
// stop everything when one exits and pass its exit code on.
import { stateRoots } from '../../state/paths.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { withDependencies, type UpOptions } from '../../planner/index.js';
import { assertPortsFree } from '../../executor/port-check.js';
import { observe } from '../../state/observe.js';
import { apply } from '../../executor/apply.js';
import type { Project } from '../../spec/project.js';
import { UserError } from '../../errors.js';
import { executorEnv, timeoutMs, type RunEnv } from './executor-env.js';
import { openRenderer, progressMode, type Renderer } from '../render/index.js';
import { lineFormatter, type LineFormat } from '../render/log-prefix.js';
import { withProjectLock } from './locked.js';
import { supervisorControl, supervisorStatus } from '../../supervisor/index.js';
import { assertServices } from './assert-services.js';
import { waitTimeoutMs } from './wait-ready.js';
import { buildWhen, hasImages, parsePullOption, readyImages } from './ready-images.js';
import { mark } from '../../trace.js';
import { expandReplicas, parseScaleOptions, replicaKeys, replicaOf } from '../../planner/replicas.js';
import { assertRunnableIn } from '../runnable.js';
import { planKeeping } from '../disabled.js';

const HELP = `Usage: stack up [OPTIONS] [SERVICE...]

Create and start the project's networks, volumes and services (only what changed). Named
services come with the services they depend on; the others are left as they are.

Options:
  -d, --detach                    Start and return; services keep running
      --wait                      Return once the services are running and healthy (or completed); implies -d
      --wait-timeout N            Seconds --wait waits at most
      --no-deps                   Don't start the services the named ones depend on
      --force-recreate            Recreate the services even when their spec is unchanged
      --no-recreate               Never recreate a service that is there: it runs (a stopped one is
                                  started) as the last up made it, whatever the spec says now
      --always-recreate-deps      Recreate the services the named ones depend on
  -V, --renew-anon-volumes        A service made or recreated gets new, empty anonymous volumes, not
                                  the ones its predecessor had
      --no-start                  Create the services (networks, namespaces, volumes) but start none;
                                  \`stack start\` or \`stack up\` starts them (as \`stack create\`)
      --scale SERVICE=N           Run N replicas of SERVICE (repeatable); overrides scale / deploy.replicas
      --pull POLICY               Pull images before starting: always, missing, never, or policy
                                  (default: each service's pull_policy, which defaults to missing)
      --quiet-pull                Pull without printing progress (a failure is still said)
      --build                     Build the images of the services that have build: before starting
      --no-build                  Build no image, even one the store lacks (that is an error then)
  -w, --watch                     Act on the services' develop.watch rules as files change (see stack watch)
      --abort-on-container-exit   Stop every service when one exits; exit with its code
      --abort-on-container-failure
                                  Stop every service when one exits with a failure; exit with its code
      --exit-code-from SERVICE    Exit with SERVICE's exit code (implies --abort-on-container-exit)
      --attach SERVICE            Print only the output of SERVICE (repeatable; even one with attach: false)
      --attach-dependencies       Print the output of the services the named ones depend on too
      --no-attach SERVICE         Do not print the output of SERVICE (repeatable)
      --no-log-prefix             Print the services' lines without the "name |" prefix
      --no-color                  Print the "name |" prefixes without colours
      --timestamps                Put each line's time first
      --no-lock-wait              Fail at once when another stack command holds the project's lock
      --remove-orphans            Remove the services the spec no longer has also when services are
                                  named (an up of the whole project always removes them), and the
                                  one-offs of \`stack run\` that have ended; a service that no
                                  active profile enables is no orphan: it is left as it is
      --progress MODE             auto (default), tty, plain, json or quiet
  -t, --timeout N                 Seconds to wait for each service to stop on Ctrl-C (default: its stop_grace_period)
  -y, --yes                       Accepted for compose's sake: stack up asks nothing
  -h, --help                      Print this help

Environment: STACK_IP_FORWARD=leave never touches net.ipv4.ip_forward; STACK_REGISTRY_TIMEOUT=N
waits N seconds (default 30) for a registry; STACK_INSECURE_REGISTRIES lists registries spoken to over http.
`;

/** Runs `stack up` (`verb`: `stack create` or `stack scale`, which are up's, named so in what it says). */
export async function run(ctx: CommandContext, verb: 'up' | 'create' | 'scale' = 'up'): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    verb,
    ctx.args,
    {
      detach: { type: 'boolean', short: 'd', default: false },
      wait: { type: 'boolean', default: false },
      'wait-timeout': { type: 'string' },
      'no-deps': { type: 'boolean', default: false },
      'force-recreate': { type: 'boolean', default: false },
      'no-recreate': { type: 'boolean', default: false },
      'always-recreate-deps': { type: 'boolean', default: false },
      'renew-anon-volumes': { type: 'boolean', short: 'V', default: false },
      'no-start': { type: 'boolean', default: false },
      scale: { type: 'string', multiple: true, default: [] as string[] },
      pull: { type: 'string' },
      'quiet-pull': { type: 'boolean', default: false },
      build: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false }, // what compose's means: stack up asks nothing
      watch: { type: 'boolean', short: 'w', default: false },
      'abort-on-container-exit': { type: 'boolean', default: false },
      'abort-on-container-failure': { type: 'boolean', default: false },
      'exit-code-from': { type: 'string' },
      attach: { type: 'string', multiple: true, default: [] as string[] },
      'attach-dependencies': { type: 'boolean', default: false },
      'no-attach': { type: 'string', multiple: true, default: [] as string[] },
      'no-log-prefix': { type: 'boolean', default: false },
      'no-color': { type: 'boolean', default: false },
      timestamps: { type: 'boolean', default: false },
      'no-lock-wait': { type: 'boolean', default: false },
      'remove-orphans': { type: 'boolean', default: false },
      progress: { type: 'string' },
      timeout: { type: 'string', short: 't' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const mode = progressMode(values.progress);
  const stopTimeout = timeoutMs(values.timeout, 'up');
  const waitMs = waitTimeoutMs(values['wait-timeout'], 'up');
  const exitCodeFrom = values['exit-code-from'];
  // compose's: --exit-code-from implies --abort-on-container-exit, unless --abort-on-container-failure is given
  const onFailure = values['abort-on-container-failure'];
  if (onFailure && values['abort-on-container-exit']) {
    throw new UserError('CLI_BAD_ARGUMENTS', 'stack up: --abort-on-container-failure cannot be combined with --abort-on-container-exit', 'the first stops everything on any exit, the second on an exit with a failure: choose one');
  }
  const abort = values['abort-on-container-exit'] || onFailure || exitCodeFrom !== undefined;
  if (abort && (values.wait || values.detach)) {
    const which = values.wait ? '--wait' : '--detach';
    throw new UserError('CLI_BAD_ARGUMENTS', `stack up: ${which} cannot be combined with --abort-on-container-exit, --abort-on-container-failure or --exit-code-from`, 'they watch the services in the foreground');
  }
  if ((values.attach.length > 0 || values['attach-dependencies']) && (values.wait || values.detach)) {
    const which = values.wait ? '--wait' : '--detach';
    throw new UserError('CLI_BAD_ARGUMENTS', `stack up: ${which} cannot be combined with --attach or --attach-dependencies`, 'they choose whose output a foreground up prints');
  }
  if (values.attach.length > 0 && values['attach-dependencies']) {
    throw new UserError('CLI_BAD_ARGUMENTS', 'stack up: --attach cannot be combined with --attach-dependencies', '--attach names the services whose output is printed: name the dependencies there too');
  }
  for (const other of ['force-recreate', 'always-recreate-deps', 'renew-anon-volumes'] as const) {
    if (values['no-recreate'] && values[other]) throw new UserError('CLI_BAD_ARGUMENTS', `stack ${verb}: --no-recreate cannot be combined with --${other}`, 'choose one');
  }
  if (values.watch && (values.wait || values.detach)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack up: --watch cannot be combined with ${values.wait ? '--wait' : '--detach'}`, 'use `stack watch`, which starts the services and watches without attaching to their output');
  }
  const detach = values.detach || values.wait;
  const pull = parsePullOption(values.pull, verb);
  mark('up: begin');
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const loaded = await loadFromContext(ctx, false, positionals);
  mark('up: loaded');
  assertServices(loaded, positionals, verb);
  // Each service as its replicas (`scale`, `deploy.replicas`, --scale): replica 1 keeps the service's key.
  const spec = expandReplicas(loaded, parseScaleOptions(values.scale, loaded));
  const replicasOf = (names: readonly string[]): string[] => [...new Set(names.flatMap((n) => replicaKeys(spec.services, n)))];
  if (exitCodeFrom !== undefined) assertServices(spec, [exitCodeFrom], 'up --exit-code-from');
  assertServices(loaded, values.attach, 'up --attach');
  assertServices(loaded, values['no-attach'], 'up --no-attach');
  await assertRunnableIn(ctx, spec);
  const env = executorEnv(ctx, supervisorControl(roots), stopTimeout);
  const options: UpOptions = {
    ...(positionals.length > 0 && { services: replicasOf(positionals) }),
    noDeps: values['no-deps'],
    forceRecreate: values['force-recreate'],
    noRecreate: values['no-recreate'],
    alwaysRecreateDeps: values['always-recreate-deps'],
    noStart: values['no-start'],
    removeOrphans: values['remove-orphans'],
    // A named service scaled to 0 has no replica left in `spec`: those running go.
    scaledToZero: new Set(positionals.filter((n) => spec.services[n] === undefined && replicasOf([n]).length === 0)),
  };
  const named = positionals.length > 0 ? replicasOf(positionals) : Object.keys(spec.services);
  // every replica of a dependency too (--wait waits for them, images are readied for them)
  const targets = values['no-deps'] ? named : replicasOf(withDependencies(spec, named));
  // Images are pulled (as their policies say) before anything changes: a failed pull starts nothing.
  let project = hasImages(spec)
    ? await readyImages(ctx, spec, targets, env.roots, { progress: values['quiet-pull'] ? 'quiet' : mode, ...(pull !== undefined && { pull }), build: buildWhen(values.build, values['no-build'], verb) })
    : spec;
  // Watch rules are checked before anything changes: a bad rule fails the whole up.
  const watchRules = values.watch ? await prepareWatch(ctx, project, targets, env) : undefined;

  // Ctrl-C (or SIGTERM): the first stops starting new operations and then stops the services;
  // the second kills them.
  const interrupt = new AbortController();
  const kill = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) kill.abort();
    else interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const renderer = await openRenderer(mode, ctx.stderr);
    let applied: Project | undefined;
    try {
      applied = await upOnce(ctx, project, options, env, renderer, !values['no-lock-wait'], interrupt.signal, values['renew-anon-volumes']);
    } finally {
      await renderer.close();
    }
    if (applied === undefined) return 130; // Ctrl-C while waiting for the lock: nothing was done, nothing to stop
    // What runs now: with --no-recreate, the services that were there as the last up made them
    // (their healthchecks, restart policies and hooks), which the waits and stops below go by.
    project = applied;
    // Created, not started: nothing to wait for or to print (compose's up --no-start is its create).
    if (values['no-start']) return interrupt.signal.aborted ? 130 : 0;
    if (values.wait && !interrupt.signal.aborted) {
      const { waitReady } = await import('./wait-ready.js');
      try {
        await waitReady(project, targets, env, waitMs, interrupt.signal);
      } catch (e) {
        if (interrupt.signal.aborted) return 130; // Ctrl-C while waiting: the services keep running, as compose
        throw e;
      }
      return 0;
    }
    if (detach && !interrupt.signal.aborted) return 0;
    // Loaded only here, so `up -d` does not load them.
    const { exitCodeOf, stopServices, untilAllExited, untilFirstExit } = await import('./stop-services.js');
    // Output of the named services (all when none is named), as compose attaches; not of a service
    // with `attach: false`; with --attach, of those services (started here) only; never of --no-attach's.
    const detached = new Set(replicasOf(values['no-attach']));
    // With --attach-dependencies, of what the named ones depend on too.
    const printed = values['attach-dependencies'] ? targets : named;
    const attached = (values.attach.length > 0 ? replicasOf(values.attach).filter((s) => targets.includes(s)) : printed.filter((s) => spec.services[s]?.attach !== false)).filter((s) => !detached.has(s));
    const format = { prefix: !values['no-log-prefix'], colour: !values['no-color'] && (ctx.stdout as NodeJS.WriteStream).isTTY === true, timestamps: values.timestamps };
    const logs = await followServices(ctx, project, attached, env, format);
    let watching: { close(): Promise<void> } | undefined;
    let watchFailed: unknown;
    let code = 0;
    try {
      // A watch that cannot start (an initial sync, an inotify limit) ends the foreground up: the
      // services are stopped as on Ctrl-C, then the error is reported.
      if (watchRules && !interrupt.signal.aborted) {
        const { rebuildThrough, startWatching } = await import('./watching.js');
        watching = await startWatching(ctx, project, env, watchRules, { rebuild: rebuildThrough(ctx, (c) => run(c)) }).catch((e: unknown) => {
          watchFailed = e;
          return undefined;
        });
      }
      if (watchFailed !== undefined) {
        // straight to the stop below
      } else if (!interrupt.signal.aborted && abort) {
        const first = await untilFirstExit(project, named, env, interrupt.signal, { failuresOnly: onFailure });
        if (first) {
          ctx.stderr.write(`${first.service} ${first.how}: aborting on container ${onFailure ? 'failure' : 'exit'}\n`);
          code = first.code;
        } else if (onFailure && !interrupt.signal.aborted) ctx.stderr.write('every service has exited\n');
      } else if (watching && !interrupt.signal.aborted) {
        // Watching goes on whatever the services do, until Ctrl-C.
        await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
      } else if (!interrupt.signal.aborted) {
        await untilAllExited(project.name, env, interrupt.signal, named);
        if (!interrupt.signal.aborted) ctx.stderr.write('every service has exited\n');
      }
      await watching?.close();
      if (interrupt.signal.aborted) ctx.stderr.write('Gracefully stopping... (press Ctrl-C again to force)\n');
      const stopRenderer = await openRenderer(mode, ctx.stderr);
      try {
        await stopServices(project.name, env, stopRenderer, kill.signal, { project, services: targets });
      } finally {
        await stopRenderer.close();
      }
    } finally {
      await logs.stop();
    }
    if (watchFailed !== undefined) throw watchFailed;
    if (exitCodeFrom !== undefined) return exitCodeOf(project.name, exitCodeFrom, env) ?? code;
    if (abort) return code;
    return interrupt.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The checked watch rules of the services up starts (none with rules: a warning, as compose gives). */
async function prepareWatch(ctx: CommandContext, project: Project, services: readonly string[], env: RunEnv) {
  const { prepareRules } = await import('../../watch/prepare.js');
  // A rule is its service's and acts on every replica of it: each service once, by its own name.
  const watched = [...new Set(services.map((s) => replicaOf(s).service))].filter((s) => (project.services[s]?.develop?.watch.length ?? 0) > 0);
  if (watched.length === 0) ctx.stderr.write('warning: --watch: none of the services has develop.watch rules; nothing is watched\n');
  // `project` runs as up expanded it (--scale included): each rule acts on those replicas.
  return prepareRules(project, watched, env.roots, (service) => replicaKeys(project.services, service));
}

/** observe → plan → apply, under the lock: the project applied; undefined when Ctrl-C came while waiting for it. */
async function upOnce(
  ctx: CommandContext,
  project: Project,
  options: UpOptions,
  env: RunEnv,
  renderer: Renderer,
  wait: boolean,
  signal: AbortSignal,
  renewAnonVolumes = false,
): Promise<Project | undefined> {
  return withProjectLock(ctx, env, project.name, 'stack up', wait, renderer, async () => {
    mark('up: locked');
    const live = await observe(project.name, { roots: env.roots });
    mark('up: observed');
    for (const w of live.warnings) renderer.notice(`warning: ${w}`);
    // The services a profile no longer enables that are there stay as they are (compose's).
    const { project: desired, plan: planned } = await planKeeping(project, live, env.roots, options);
    await assertPortsFree(desired, planned, () => servedPorts(project.name, env));
    mark('up: planned');
    const result = await apply(planned, desired, { env, live, sink: renderer, signal, ...(renewAnonVolumes && { renewAnonVolumes }) });
    mark('up: applied');
    for (const n of result.notices) renderer.notice(n);
    return desired;
  }, signal).catch((e: unknown) => {
    if (signal.aborted && e instanceof Error && e.name === 'AbortError') return undefined;
    throw e;
  });
}

/** The ports this project's supervisor listens on now (`127.0.0.1:8080/tcp`), which `up` may reuse. */
async function servedPorts(projectName: string, env: RunEnv): Promise<Set<string>> {
  const status = await supervisorStatus(projectName, env.roots);
  return new Set(status?.services.flatMap((s) => s.ports.filter((p) => p.boundPort !== undefined).map((p) => p.published)) ?? []);
}

/** Streams the services' output with `name |` prefixes until stop() (which prints what is left). */
async function followServices(ctx: CommandContext, project: Project, services: readonly string[], env: RunEnv, format: LineFormat): Promise<{ stop(): Promise<void> }> {
  const [{ followLogs }, { serviceFiles }] = await Promise.all([import('../../runtime/index.js'), import('../../state/service-files.js')]);
  const line = lineFormatter(services, format);
  const logs = services.map((service) => ({ service, path: serviceFiles(env.roots, project.name, service).log }));
  const done = new AbortController();
  const following = followLogs(logs, (service, text) => ctx.stdout.write(`${line(service, text)}\n`), done.signal);
  return {
    async stop() {
      done.abort();
      await following;
    },
  };
}

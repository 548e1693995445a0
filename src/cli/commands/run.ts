// `stack run [OPTIONS] SERVICE [COMMAND...]`: a one-off copy of a service (migrations, consoles,
// test runners) named `<service>-run-<6 hex>` (or --name), isolated like any service (own netns,
// addresses on the service's networks, cgroups, view), started after the service's dependencies
// (unless --no-deps) with their conditions honoured. In the foreground the one-off holds a
// sleeping init and the command runs in it as `stack exec` runs one (a pty when stdin and stdout
// are terminals, unless -T; ^C to the command; its exit code is stack's); then the one-off is
// stopped, its exit record saying how the command ended, or with --rm removed with everything it
// made. -d runs the command as the one-off's main process and prints its name. See
// oneoff-spec.ts for what the one-off is given.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { isatty } from 'node:tty';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { splitAtPositional } from '../split-args.js';
import { loadFromContext } from '../project.js';
import { UserError } from '../../errors.js';
import { apply } from '../../executor/apply.js';
import { execAttached, commandOf } from '../../runtime/index.js';
import { readBootId } from '../../sys/proc.js';
import { waitAttached } from './attached.js';
import { recordOneOff } from '../../executor/oneoff.js';
import { assertPortsFree } from '../../executor/port-check.js';
import { planDown, planStop, withDependencies } from '../../planner/index.js';
import type { Project, Service } from '../../spec/project.js';
import { expandReplicas } from '../../planner/replicas.js';
import type { LiveState } from '../../state/live.js';
import { observe } from '../../state/observe.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { readExitRecord, type ExitRecord } from '../../state/exit-record.js';
import { serviceFiles } from '../../state/service-files.js';
import { writeRuntimeJsonSync } from '../../state/atomic.js';
import { supervisorControl, supervisorStatus } from '../../supervisor/index.js';
import { openRenderer, progressMode, type Renderer } from '../render/index.js';
import { execEnv } from './exec.js';
import { removeOneOff, spawnReaper } from './oneoff-remove.js';
import { executorEnv, type RunEnv } from './executor-env.js';
import { assertServices } from './assert-services.js';
import { withProjectLock } from './locked.js';
import { buildWhen, hasImages, parsePullOption, readyImages } from './ready-images.js';
import { checkOneOffName, generatedName, oneOffService, parseVolumeOption, type OneOffOverrides } from './oneoff-spec.js';
import { assertRunnableIn } from '../runnable.js';
import { planKeeping } from '../disabled.js';

const HELP = `Usage: stack run [OPTIONS] SERVICE [COMMAND] [ARGS...]

Run a one-off command in a new copy of SERVICE, named SERVICE-run-<6 hex> (or --name): its own
network namespace with an address on the service's networks, its cgroups and filesystem view,
after the services it depends on are up. It publishes no ports and does not answer to the
service's name or aliases unless asked. Options go before SERVICE; everything after it is the
command's. Exits with the command's code (128+N for signal N). Without --rm the stopped one-off
stays until \`stack down\`.

Options:
      --rm                  Remove the one-off and everything it made when the command ends
                            (with -d, a small detached process waits for that and removes it)
  -d, --detach              Run the command in the background and print the one-off's name
  -T, --no-TTY              No pseudo-terminal (default: one when stdin and stdout are terminals)
  -e, --env KEY=VALUE       Set an environment variable (repeatable); -e KEY takes stack's own value
  -u, --user USER           Run as USER (name or uid[:gid])
  -w, --workdir DIR         Working folder, absolute
  -v, --volume VOLUME       Add a volume: ./host:/target[:ro], NAME:/target or /target (repeatable)
      --name NAME           Name of the one-off
      --no-deps             Don't start the services SERVICE depends on
      --remove-orphans      Remove the services the spec no longer has, and the one-offs that
                            ended, as \`stack up --remove-orphans\` does
  -p, --publish PORTS       Publish a port, e.g. 8080:80 (repeatable)
  -P, --service-ports       Publish the service's own ports
      --use-aliases         Give the one-off the service's name and aliases on its networks
      --entrypoint CMD      Override the service's entrypoint
      --pull POLICY         Pull the image first: always, missing, never, or policy (default:
                            the service's pull_policy)
      --build               Build the service's image (build:) again before running it
  -h, --help                Print this help

-i/--interactive and -t/--tty are accepted, as compose accepts them (they are the default).
`;

const OPTIONS = {
  rm: { type: 'boolean', default: false },
  detach: { type: 'boolean', short: 'd', default: false },
  'no-TTY': { type: 'boolean', short: 'T', default: false },
  env: { type: 'string', short: 'e', multiple: true, default: [] as string[] },
  user: { type: 'string', short: 'u' },
  workdir: { type: 'string', short: 'w' },
  volume: { type: 'string', short: 'v', multiple: true, default: [] as string[] },
  name: { type: 'string' },
  'no-deps': { type: 'boolean', default: false },
  'remove-orphans': { type: 'boolean', default: false },
  publish: { type: 'string', short: 'p', multiple: true, default: [] as string[] },
  'service-ports': { type: 'boolean', short: 'P', default: false },
  'use-aliases': { type: 'boolean', default: false },
  entrypoint: { type: 'string' },
  pull: { type: 'string' },
  build: { type: 'boolean', default: false },
  interactive: { type: 'boolean', short: 'i', default: true },
  tty: { type: 'boolean', short: 't', default: true },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** What holds a foreground one-off while the command runs in it: the launcher's init and a workload that runs nothing. */
function holder(spec: Service): Service {
  return { ...spec, entrypoint: ['stack-hold'], command: [], init: true, hold: true };
}

/** Runs `stack run`. */
export async function run(ctx: CommandContext): Promise<number> {
  const split = splitAtPositional(ctx.args, OPTIONS);
  const { values } = parseCommandOptions('run', split.options, OPTIONS);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const service = split.positional;
  if (service === undefined) throw new UserError('CLI_BAD_ARGUMENTS', 'stack run needs a service', 'e.g. stack run --rm web sh');
  if (values.workdir !== undefined && !isAbsolute(values.workdir)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack run: --workdir ${values.workdir} is not an absolute path`, 'e.g. -w /app');
  }
  const pull = parsePullOption(values.pull, 'run');
  const spec = await loadFromContext(ctx, false, [service]);
  assertServices(spec, [service], 'run');
  const needed = values['no-deps'] ? [service] : withDependencies(spec, [service]);
  await assertRunnableIn(ctx, { ...spec, services: Object.fromEntries(needed.map((s) => [s, spec.services[s]!])) });
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  // Images pulled (as their policies or --pull say) and resolved first; `--user` on an image
  // service resolves in the image's own /etc/passwd.
  let project = hasImages(spec) ? await readyImages(ctx, spec, needed, roots, { ...(pull !== undefined && { pull }), build: buildWhen(values.build, false, 'run') }) : spec;
  if (values.user !== undefined && project.services[service]!.imageRoot !== undefined) {
    project = { ...project, services: { ...project.services, [service]: await withImageUser(project.services[service]!, values.user, roots) } };
  }
  // The one-off is one copy of the service as written, whatever its scale (0 included: compose's
  // tool services); its dependencies run as `up` runs them, a scaled one with every replica.
  const template = project.services[service]!;
  project = expandReplicas(project);

  const overrides: OneOffOverrides = {
    command: split.rest,
    ...(values.entrypoint !== undefined && { entrypoint: values.entrypoint }),
    env: execEnv(values.env, ctx.env),
    ...(values.user !== undefined && { user: values.user }),
    ...(values.workdir !== undefined && { workingDir: values.workdir }),
    volumes: values.volume,
    publish: values.publish,
    servicePorts: values['service-ports'],
    useAliases: values['use-aliases'],
    noDeps: values['no-deps'],
  };
  const mounts = values.volume.map((v) => parseVolumeOption(v, project, ctx.env));
  // Checked before anything is made: the spec with a placeholder name, then argv.
  const draft = oneOffService(template, `${service}-run`, overrides, mounts);
  const argv = commandOf(draft);

  const env = executorEnv(ctx, supervisorControl(roots));
  const renderer = await openRenderer(progressMode(undefined), ctx.stderr);
  const cancel = new AbortController();
  const onSigint = (): void => cancel.abort();
  process.on('SIGINT', onSigint);
  let oneOff: { name: string; spec: Service; synth: Project };
  try {
    oneOff = await startOneOff(ctx, env, project, service, template, overrides, mounts, values, renderer, cancel.signal);
  } finally {
    process.off('SIGINT', onSigint);
    await renderer.close();
  }
  if (cancel.signal.aborted) {
    await removeOneOff(env, project, oneOff.name);
    return 130;
  }
  if (values.detach) {
    // -d --rm: a small detached process removes the one-off once its command has ended.
    if (values.rm) spawnReaper(ctx, project.name, oneOff.name);
    ctx.stdout.write(`${oneOff.name}\n`);
    return 0;
  }

  let exitCode: number | undefined;
  try {
    exitCode = await attach(ctx, env, project.name, oneOff.name, oneOff.spec, argv, values['no-TTY']);
  } finally {
    if (values.rm) await removeOneOff(env, project, oneOff.name);
    else {
      await stopOneOff(ctx, env, oneOff.synth, oneOff.name);
      if (exitCode !== undefined) recordCommandExit(env, project.name, oneOff.name, exitCode);
    }
  }
  return exitCode;
}

/**
 * The one-off's exit record says how its command ended (\`ps -a\`: \`exited with code 3\`, as
 * compose shows a one-off container Exited (3)), not how its sleeping init did (SIGTERM, stopped
 * once the command had ended). Written over the monitor's record of that init, once it is there
 * (the stop waited for it); a code over 128 is the command's end by a signal, as a shell says it.
 */
function recordCommandExit(env: RunEnv, project: string, name: string, exitCode: number): void {
  const path = serviceFiles(env.roots, project, name).exit;
  const init = readExitRecord(path);
  if (init === undefined) return; // no monitor wrote one (it died): nothing to say it over
  writeRuntimeJsonSync(path, { ...init, exitCode, signal: null, exitedAt: new Date().toISOString() } satisfies ExitRecord, { makeFolder: false });
}

/** Records, plans and starts the one-off (and, unless --no-deps, its dependencies); removes it again when that fails. */
async function startOneOff(
  ctx: CommandContext,
  env: RunEnv,
  project: Project,
  service: string,
  template: Service,
  overrides: OneOffOverrides,
  mounts: Parameters<typeof oneOffService>[3],
  values: { name?: string | undefined; detach: boolean; 'no-deps': boolean; 'remove-orphans': boolean },
  renderer: Renderer,
  signal: AbortSignal,
): Promise<{ name: string; spec: Service; synth: Project }> {
  let made: string | undefined;
  try {
    return await withProjectLock(
      ctx,
      env,
      project.name,
      `stack run ${service}`,
      true,
      renderer,
      async () => {
        const before = await observe(project.name, { roots: env.roots });
        for (const w of before.warnings) renderer.notice(`warning: ${w}`);
        const taken = Object.keys(before.services);
        let name = values.name ?? generatedName(service, randomBytes(3));
        for (let i = 0; values.name === undefined && (taken.includes(name) || project.services[name]) && i < 16; i++) {
          name = generatedName(service, randomBytes(3));
        }
        checkOneOffName(name, project, taken);
        const spec = oneOffService(template, name, overrides, mounts);
        const launched = values.detach ? spec : holder(spec);
        await recordOneOff(env.roots, project.name, env.bootId ?? readBootId(), service, launched);
        made = name;
        const synth: Project = { ...project, services: { ...project.services, [name]: launched } };
        const live = await observe(project.name, { roots: env.roots });
        const { project: desired, plan: planned } = await planKeeping(synth, live, env.roots, { services: [name], noDeps: values['no-deps'], removeOrphans: values['remove-orphans'] });
        await assertPortsFree(desired, planned, () => servedPorts(project.name, env));
        const result = await apply(planned, desired, { env, live, sink: renderer, signal });
        for (const n of result.notices) renderer.notice(n);
        return { name, spec, synth };
      },
      signal,
    );
  } catch (e) {
    if (made !== undefined) await removeOneOff(env, project, made).catch(() => undefined);
    throw e;
  }
}

/** Runs argv in the one-off with the user's terminal; resolves with its exit code. */
async function attach(ctx: CommandContext, env: RunEnv, projectName: string, name: string, spec: Service, argv: readonly string[], noTty: boolean): Promise<number> {
  const record = await serviceRecords.read(env.roots, projectName, name);
  if (!record?.process) throw new UserError('SERVICE_NOT_RUNNING', `one-off "${name}" is not running`, 'see `stack logs`');
  const target = { service: spec, pid: record.process.pid, startTime: record.process.startTime, cgroupDirs: record.cgroups };
  const stdio = noTty || !isatty(0) || !isatty(1) ? 'inherit' : 'pty';
  const extra: Record<string, string> = {};
  if (stdio === 'pty' && spec.environment.TERM === undefined) extra.TERM = ctx.env.TERM || 'xterm';
  return waitAttached(await execAttached(target, argv, stdio, { env: extra }));
}

/** Stops the one-off, which stays (stopped) until `stack down`, as compose keeps it. */
async function stopOneOff(ctx: CommandContext, env: RunEnv, synth: Project, name: string): Promise<void> {
  const quiet = await openRenderer('quiet', ctx.stderr);
  await withProjectLock(ctx, env, synth.name, 'stack run', true, quiet, async () => {
    const live = await observe(synth.name, { roots: env.roots });
    const planned = planStop(synth, live, { services: [name], cause: 'command ended' });
    if (planned.operations.length > 0) await apply(planned, synth, { env, live });
  });
}

/** Host ports this project's supervisor already serves. */
async function servedPorts(projectName: string, env: RunEnv): Promise<Set<string>> {
  const status = await supervisorStatus(projectName, env.roots);
  return new Set(status?.services.flatMap((s) => s.ports.filter((p) => p.boundPort !== undefined).map((p) => p.published)) ?? []);
}

/** An image service run as `user` (`run --user`): the name resolved in the image's merged layers. */
async function withImageUser(service: Service, user: string, roots: ReturnType<typeof stateRoots>): Promise<Service> {
  const [{ resolveLayeredUser }, { imageLayerDirs }] = await Promise.all([import('../../image/layered.js'), import('../../image/paths.js')]);
  const root = service.imageRoot!;
  const identity = resolveLayeredUser(service.name, service.image!, user, imageLayerDirs(roots, root));
  return { ...service, user, imageRoot: { ...root, identity: { uid: identity.uid, gid: identity.gid, groups: [...identity.groups] } } };
}

// `stack up`: observe → plan → execute under the project's lock, then (unless -d) stream every
// service's output with a `name |` prefix until Ctrl-C, which stops the services gracefully
// (a second Ctrl-C kills them) and keeps networks and volumes, as compose does.
import { stateRoots } from '../../state/paths.js';
import type { CommandContext } from '../main.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertRunnable, plan } from '../../planner/index.js';
import { assertPortsFree } from '../../executor/port-check.js';
import { observe } from '../../state/observe.js';
import { apply } from '../../executor/apply.js';
import type { Project } from '../../spec/project.js';
import { executorEnv, timeoutMs, type RunEnv } from './executor-env.js';
import { logPrefixer, openRenderer, progressMode, type Renderer } from '../render/index.js';
import { withProjectLock } from './locked.js';
import { supervisorControl, supervisorStatus } from '../../supervisor/index.js';

const HELP = `Usage: stack up [OPTIONS]

Create and start the project's networks, volumes and services (only what changed).

Options:
  -d, --detach          Start and return; services keep running
      --no-wait         Fail at once when another stack command holds the project's lock
      --progress MODE   auto (default), tty, plain, json or quiet
  -t, --timeout N       Seconds to wait for each service to stop on Ctrl-C (default: its stop_grace_period)
  -h, --help            Print this help

Environment: STACK_IP_FORWARD=leave never touches net.ipv4.ip_forward.
`;

/** Runs `stack up`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('up', ctx.args, {
    detach: { type: 'boolean', short: 'd', default: false },
    'no-wait': { type: 'boolean', default: false },
    progress: { type: 'string' },
    timeout: { type: 'string', short: 't' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const mode = progressMode(values.progress);
  const stopTimeout = timeoutMs(values.timeout, 'up');
  const project = await loadFromContext(ctx);
  assertRunnable(project);
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)), stopTimeout);

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
    let acted: boolean;
    try {
      acted = await upOnce(ctx, project, env, renderer, !values['no-wait'], interrupt.signal);
    } finally {
      await renderer.close();
    }
    if (!acted) return 130; // Ctrl-C while waiting for the lock: nothing was done, nothing to stop
    if (values.detach && !interrupt.signal.aborted) return 0;
    // Loaded only here, so `up -d` does not load them.
    const { stopServices, untilAllExited } = await import('./stop-services.js');
    const logs = await followServices(ctx, project, env);
    try {
      if (!interrupt.signal.aborted) {
        await untilAllExited(project.name, env, interrupt.signal);
        if (!interrupt.signal.aborted) ctx.stderr.write('every service has exited\n');
      }
      if (interrupt.signal.aborted) ctx.stderr.write('Gracefully stopping... (press Ctrl-C again to force)\n');
      const stopRenderer = await openRenderer(mode, ctx.stderr);
      try {
        await stopServices(project.name, env, stopRenderer, kill.signal);
      } finally {
        await stopRenderer.close();
      }
    } finally {
      await logs.stop();
    }
    return interrupt.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** observe → plan → apply, under the lock; false when Ctrl-C came while waiting for it. */
async function upOnce(
  ctx: CommandContext,
  project: Project,
  env: RunEnv,
  renderer: Renderer,
  wait: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  return withProjectLock(ctx, env, project.name, 'stack up', wait, renderer, async () => {
    const live = await observe(project.name, { roots: env.roots });
    for (const w of live.warnings) renderer.notice(`warning: ${w}`);
    const planned = plan(project, live);
    await assertPortsFree(project, planned, await servedPorts(project.name, env));
    const result = await apply(planned, project, { env, live, sink: renderer, signal });
    for (const n of result.notices) renderer.notice(n);
    return true;
  }, signal).catch((e: unknown) => {
    if (signal.aborted && e instanceof Error && e.name === 'AbortError') return false;
    throw e;
  });
}

/** The ports this project's supervisor listens on now (`127.0.0.1:8080/tcp`), which `up` may reuse. */
async function servedPorts(projectName: string, env: RunEnv): Promise<Set<string>> {
  const status = await supervisorStatus(projectName, env.roots);
  return new Set(status?.services.flatMap((s) => s.ports.filter((p) => p.boundPort !== undefined).map((p) => p.published)) ?? []);
}

/** Streams the services' output with `name |` prefixes until stop() (which prints what is left). */
async function followServices(ctx: CommandContext, project: Project, env: RunEnv): Promise<{ stop(): Promise<void> }> {
  const [{ followLogs }, { serviceFiles }] = await Promise.all([import('../../executor/follow.js'), import('../../executor/service-files.js')]);
  const services = Object.keys(project.services);
  const prefix = logPrefixer(services, (ctx.stdout as NodeJS.WriteStream).isTTY === true);
  const logs = services.map((service) => ({ service, path: serviceFiles(env.roots, project.name, service).log }));
  const done = new AbortController();
  const following = followLogs(logs, (service, line) => ctx.stdout.write(`${prefix(service, line.text)}\n`), done.signal);
  return {
    async stop() {
      done.abort();
      await following;
    },
  };
}

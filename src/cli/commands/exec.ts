// `stack exec [OPTIONS] SERVICE COMMAND [ARGS...]`: runs a command inside a running service —
// its namespaces, cgroups, filesystem view, user, capabilities and environment (the ones the
// last `up` started it with) — on a pseudo-terminal of the service when stdin and stdout are
// terminals, and exits with the command's code. Options stop at SERVICE, as in compose.
import { isatty } from 'node:tty';
import { isAbsolute } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { splitAtPositional } from '../split-args.js';
import { loadNaming, projectNameFromContext } from '../project.js';
import { closest } from '../suggest.js';
import { UserError } from '../../errors.js';
import { observeProcesses } from '../../state/observe.js';
import { stateRoots } from '../../state/paths.js';
import { readSnapshot } from '../../state/snapshot.js';
import { execAttached, type ExecService, type ExecTarget } from '../../runtime/index.js';
import { waitAttached } from './attached.js';
import type { Project, Service } from '../../spec/project.js';
import { imageUserDb } from './ready-images.js';
import { replicaKeys } from '../../planner/replicas.js';
import { replicaKey } from '../../names.js';

const HELP = `Usage: stack exec [OPTIONS] SERVICE COMMAND [ARGS...]

Run a command inside a running service: in its namespaces, cgroups and filesystem view, as its
user, with its capabilities and environment. Options go before SERVICE; everything after it is
the command's (\`stack exec web ls -la\`). Exits with the command's code (128+N for signal N).

Options:
  -d, --detach          Run the command in the background and return once it has started;
                        its output goes to /dev/null (not to the service's log)
  -e, --env KEY=VALUE   Set an environment variable (repeatable); -e KEY takes stack's own value
  -u, --user USER       Run as USER (name or uid[:gid]; default: the service's user)
  -w, --workdir DIR     Working folder, absolute (default: the service's working_dir, else /)
      --index N         Which replica of a scaled service (default 1)
      --privileged      Give the command every capability stack has (bounding set, and
                        effective for root); it stays in the service's namespaces, cgroups and
                        read-only view, under no_new_privs
  -T, --no-TTY          No pseudo-terminal: the command gets stack's stdin, stdout and stderr.
                        By default it gets one of the service's own when stdin and stdout are
                        terminals (stack's terminal is raw meanwhile: ^C goes to the command)
  -h, --help            Print this help

-i/--interactive and -t/--tty are accepted, as compose accepts them (they are the default).
`;

const OPTIONS = {
  detach: { type: 'boolean', short: 'd', default: false },
  env: { type: 'string', short: 'e', multiple: true, default: [] as string[] },
  user: { type: 'string', short: 'u' },
  workdir: { type: 'string', short: 'w' },
  index: { type: 'string' },
  privileged: { type: 'boolean', default: false },
  'no-TTY': { type: 'boolean', short: 'T', default: false },
  interactive: { type: 'boolean', short: 'i', default: true },
  tty: { type: 'boolean', short: 't', default: true },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Runs `stack exec`. */
export async function run(ctx: CommandContext): Promise<number> {
  const split = splitAtPositional(ctx.args, OPTIONS);
  const { values } = parseCommandOptions('exec', split.options, OPTIONS);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const service = split.positional;
  if (service === undefined || split.rest.length === 0) {
    throw new UserError(
      'CLI_BAD_ARGUMENTS',
      service === undefined ? 'stack exec needs a service and a command' : `stack exec ${service}: no command given`,
      'e.g. stack exec web sh',
    );
  }
  const env = execEnv(values.env, ctx.env);
  if (values.workdir !== undefined && !isAbsolute(values.workdir)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack exec: --workdir ${values.workdir} is not an absolute path`, 'e.g. -w /app');
  }
  const index = values.index === undefined ? 1 : Number(values.index);
  if (!Number.isInteger(index) || index < 1) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack exec: --index ${values.index} is not a positive whole number`, 'e.g. --index 1');
  }

  const target = await runningTarget(ctx, service, index);
  const stdio = values.detach ? 'detach' : values['no-TTY'] || !isatty(0) || !isatty(1) ? 'inherit' : 'pty';
  // On a pty the command's terminal type is the user's (docker's xterm when stack has none).
  if (stdio === 'pty' && target.service.environment.TERM === undefined && env.TERM === undefined) env.TERM = ctx.env.TERM || 'xterm';
  const userDb = values.user !== undefined ? await imageUserDb(target.service as Pick<Service, 'image' | 'imageRoot'>, stateRoots(ctx.env as NodeJS.ProcessEnv)) : undefined;
  const options = {
    env,
    privileged: values.privileged,
    ...(userDb !== undefined && { userDb }),
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.workdir !== undefined ? { workingDir: values.workdir } : {}),
  };
  return waitAttached(await execAttached(target, split.rest, stdio, options));
}

/** `-e KEY=VALUE` and `-e KEY` (stack's own value; left out when stack has none, as compose does). */
export function execEnv(entries: readonly string[], own: CommandContext['env']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw new UserError('CLI_BAD_ARGUMENTS', `stack exec: -e ${entry} names no variable`, 'e.g. -e DEBUG=1, or -e DEBUG to pass stack\'s own');
    if (eq >= 0) env[key] = entry.slice(eq + 1);
    else if (own[key] !== undefined) env[key] = own[key]!;
  }
  return env;
}

/** A running service's target, with its project's name and its spec as the last `up` started it (the snapshot's, when there is one). */
export interface RunningTarget extends ExecTarget {
  readonly project: string;
  readonly started: Service | undefined;
}

/** The service's running process and the spec it was started with; SERVICE_UNKNOWN or SERVICE_NOT_RUNNING otherwise. */
export async function runningTarget(ctx: CommandContext, service: string, index: number): Promise<RunningTarget> {
  const named = service; // the name given (a replica's key, below, is not one `stack up` takes)
  const project = await projectNameFromContext(ctx);
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  // Its processes only (as ps looks): no netns, link or cgroup of any service is looked at.
  const [snapshot, live] = await Promise.all([readSnapshot(roots, project), observeProcesses(project, { roots })]);
  if (index !== 1) {
    // Replica N of a scaled service: its own key (planner/replicas.ts).
    const replicas = replicaKeys(live.services, service);
    const key = replicaKey(service, index);
    if (!live.services[key]) {
      throw new UserError(
        'SERVICE_INDEX_UNKNOWN',
        `service "${service}" has no replica #${index}: ${replicas.length === 0 ? 'it is not up' : `it runs ${replicas.length} (${replicas.length === 1 ? '--index 1' : `--index 1 to ${replicas.length}`})`}`,
        replicas.length === 0 ? `start it with \`stack up ${service}\`` : `use --index 1${replicas.length > 1 ? `..${replicas.length}` : ''}, or scale it with \`stack up --scale ${service}=${index}\``,
      );
    }
    service = key;
  }
  const main = live.services[service]?.process;
  let spec: ExecService | undefined = snapshot?.project.services[service];
  let fromFile: Project | undefined;
  if (!spec || !main?.alive) {
    // The spec file decides between a typo and a service that is not up (with -p it may be absent);
    // a service behind a profile no active one enables is there once named (loadNaming), and a
    // load its profiles break is that load's error.
    fromFile = await loadNaming(ctx, [named])
      .then(({ project, hiding }) => {
        if (hiding !== undefined) throw hiding;
        return project;
      })
      .catch((e: unknown) => {
        if (ctx.global.projectName !== undefined) return undefined;
        throw e;
      });
    spec ??= fromFile?.services[service];
  }
  if (!spec) {
    const known = [...new Set([...Object.keys(snapshot?.project.services ?? {}), ...Object.keys(fromFile?.services ?? {})])].sort();
    const near = closest(service, [...known, ...(fromFile?.disabledServices ?? [])]); // named, one behind a profile is enabled
    throw new UserError(
      'SERVICE_UNKNOWN',
      `project "${project}" has no service "${service}"`,
      near ? `did you mean ${near}?` : known.length ? `its services: ${known.join(', ')}` : 'check the service name and the project (-p, -f)',
    );
  }
  if (!main?.alive) {
    throw new UserError(
      'SERVICE_NOT_RUNNING',
      `service "${service}" of project "${project}" is not running`,
      index === 1 ? `start it with \`stack up ${named}\`` : `\`stack ps\` lists the replicas; \`stack up --scale ${named}=${index}\` runs ${index}`,
    );
  }
  return { service: spec, pid: main.pid, startTime: main.startTime, cgroupDirs: live.services[service]!.cgroupDirs, project, started: snapshot?.project.services[service] };
}

// `stack watch [SERVICE...]`: brings the services up (unless --no-up), then acts on their
// develop.watch rules as files change, one line per action. Ctrl-C stops watching and leaves the
// services running. `stack up --watch` uses startWatching() beside its log output.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from '../main.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { UserError } from '../../errors.js';
import type { Project, WatchExec } from '../../spec/project.js';
import { executorEnv, type RunEnv } from './executor-env.js';
import { supervisorControl } from '../../supervisor/index.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { execInService, execTargetOf } from '../../runtime/exec.js';
import { describeExit, readExitRecord } from '../../runtime/exit-record.js';
import { serviceFiles } from '../../runtime/service-files.js';
import { readSnapshot } from '../../executor/snapshot.js';
import { isSameProcess } from '../../runtime/proc.js';
import { loadUserDb, resolveUser } from '../../runtime/user.js';
import { nullSink } from '../../executor/events.js';
import { prepareRules, ruleContext, watchedServices } from '../../watch/prepare.js';
import { WatchSession, type EarlyExit, type PreparedRule, type WatchActions } from '../../watch/session.js';
import { watchPath } from '../../watch/watcher.js';
import { initialSync } from '../../watch/initial.js';
import { assertServices, restartServices, stopServicesNamed } from './lifecycle.js';

const HELP = `Usage: stack watch [OPTIONS] [SERVICE...]

Bring the services up, then act on their develop.watch rules as their files change:
restart, sync (copy into the service's volume), sync+restart, sync+exec. Ctrl-C stops
watching; the services keep running (\`stack down\` removes them).

Options:
      --no-up           Do not start the services first (they must be up)
      --quiet           Print nothing while bringing the services up
      --debounce MS     Quiet window that joins a burst of changes into one action (default 50)
  -h, --help            Print this help

Ignored without being told: .git, editor temporaries and backups (vim 4913, *~, .*.sw?,
emacs .#* and #*#, JetBrains *___jb_tmp___ and *___jb_old___), and the patterns of the watched
folder's .dockerignore. A burst of 64 or more changes waits 250 ms of quiet, and nothing is acted
on while git's index.lock exists (a checkout, merge or rebase under way).
`;

/** Parses --debounce. */
function debounceMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 10_000) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack watch: --debounce ${value} is not a number of milliseconds up to 10000`, 'e.g. --debounce 50');
  }
  return Number(value);
}

/** Runs `stack watch`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'watch',
    ctx.args,
    {
      'no-up': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      debounce: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const quietMs = debounceMs(values.debounce);
  const project = await loadFromContext(ctx);
  assertServices(project, positionals, 'watch');
  const services = watchedServices(project, positionals);
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)));
  // Every rule is checked before anything starts: a bad rule changes nothing.
  const rules = prepareRules(project, services, env.roots);

  if (values['no-up']) {
    const { records } = await serviceRecords.list(env.roots, project.name);
    const down = services.filter((s) => !records.some((r) => r.service === s));
    if (down.length > 0) {
      throw new UserError('SERVICE_NOT_UP', `stack watch --no-up: ${down.map((s) => `"${s}"`).join(', ')} of project ${project.name} ${down.length === 1 ? 'is' : 'are'} not up`, 'start them with `stack up -d`, or drop --no-up (watch then brings them up)');
    }
  } else {
    const up = await import('./up.js');
    const code = await up.run({ ...ctx, args: ['-d', '--progress', values.quiet ? 'quiet' : 'auto', ...positionals] });
    if (code !== 0) return code;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const watching = await startWatching(ctx, project, env, rules, { ...(quietMs !== undefined && { quietMs }) });
    try {
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      await watching.close();
    }
    ctx.stderr.write('stopped watching; the services keep running (`stack down` removes them)\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** A running watch; close() stops it (the services keep running). */
export interface Watching {
  close(): Promise<void>;
}

/** Starts watching the prepared rules of `project` (its services are up); lines go to ctx.stdout. */
export async function startWatching(
  ctx: Pick<CommandContext, 'stdout' | 'stderr'>,
  project: Project,
  env: RunEnv,
  rules: readonly PreparedRule[],
  options: { quietMs?: number } = {},
): Promise<Watching> {
  const names = [...new Set(rules.map((r) => r.service))];
  const line = watchLine(Object.keys(project.services), (ctx.stdout as NodeJS.WriteStream).isTTY === true, ctx.stdout);
  const actions = serviceActions(project, env, line);
  for (const rule of rules) {
    if (rule.destination?.kind === 'bound') {
      line(rule.service, `watch rule ${rule.number}: ${rule.rule.path} is bind-mounted at ${rule.rule.target}, so the service sees every change at once; nothing is copied`);
    } else if (rule.destination?.kind === 'volume' && rule.rule.initialSync) {
      const t0 = Date.now();
      const copied = await initialSync(rule, actions.owner(rule.service)).catch((e: unknown) => {
        throw new UserError(
          'WATCH_SYNC_FAILED',
          `${ruleContext(rule.service, rule.number, rule.rule.path)}: the initial sync to ${rule.rule.target} failed: ${e instanceof Error ? e.message : String(e)}`,
          'check that the service is up (its volume exists) and that the watched files are readable',
          { cause: e },
        );
      });
      line(rule.service, `watch rule ${rule.number}: initial sync copied ${copied} file(s) to ${rule.rule.target} in ${Date.now() - t0} ms`);
    }
  }
  const session = new WatchSession(rules, actions, { line, error: (e) => ctx.stderr.write(`stack watch: ${e.message}\n  hint: ${e.hint ?? ''}\n`) }, {
    displayRoot: project.workingDir,
    ...(options.quietMs !== undefined && { quietMs: options.quietMs }),
  });
  await session.start((rule, onChange, onError) => watchPath(rule.rule.path, rule.isFile, rule.filter, onChange, onError));
  ctx.stderr.write(`watching ${rules.length} rule(s) of ${names.join(', ')} (Ctrl-C to stop watching)\n`);
  return { close: () => session.close() };
}

/** Writes `web  restarted in 38 ms  (src/a.js changed)`: the name without the `|` of service output. */
function watchLine(services: readonly string[], colour: boolean, out: NodeJS.WritableStream): (service: string, text: string) => void {
  const width = Math.max(5, ...services.map((s) => s.length));
  return (service, text) => {
    const name = (service || 'watch').padEnd(width);
    out.write(colour ? `\u001b[1m${name}\u001b[0m  ${text}\n` : `${name}  ${text}\n`);
  };
}

/** The real verbs a watch session uses, bound to one project. */
function serviceActions(project: Project, env: RunEnv, line: (service: string, text: string) => void): WatchActions {
  const sink = { ...nullSink, notice: (message: string) => line('', message) }; // events stay quiet: one line per action is printed instead
  let userDb: ReturnType<typeof loadUserDb> | undefined;
  const owners = new Map<string, { uid: number; gid: number } | undefined>();
  return {
    async restart(service, cause) {
      // As `stack restart`: the service as the last `up` made it (an edit of the spec since is
      // applied by `up`, not by a restart).
      const applied = (await readSnapshot(env.roots, project.name))?.project;
      const made = await restartServices({ env, project: applied?.services[service] ? applied : project, services: [service], cause, sink });
      // After a `stack down` elsewhere there is nothing to restart: say so rather than a restart line.
      if (made === 0) throw new UserError('SERVICE_NOT_UP', `service "${service}" is not up (was the project taken down?)`, 'run `stack up` (or restart `stack watch`) to bring it back');
    },
    pause: (service) => stopServicesNamed({ env, project, services: [service], cause: 'exited right after a watch restart', sink }),
    async exec(service, hook: WatchExec) {
      const record = await serviceRecords.read(env.roots, project.name, service);
      const spec = project.services[service]!;
      const target = record && execTargetOf(record, spec);
      if (!target) throw new UserError('SERVICE_NOT_RUNNING', `service "${service}" is not running`, 'start it with `stack up`');
      const result = await execInService(target, hook.command, {
        env: hook.environment,
        ...(hook.user !== undefined && { user: hook.user }),
        ...(hook.workingDir !== undefined && { workingDir: hook.workingDir }),
        ...(hook.privileged && { privileged: true }),
        timeoutMs: 60_000,
        maxOutputBytes: 64 * 1024,
      });
      return { exitCode: result.exitCode, output: `${result.stdout}${result.stderr}` };
    },
    async exitWithin(service, ms): Promise<EarlyExit | undefined> {
      const record = await serviceRecords.read(env.roots, project.name, service);
      const process = record?.process;
      if (!process) return undefined;
      const since = Date.now();
      while (isSameProcess(process.pid, process.startTime)) {
        if (Date.now() - since >= ms) return undefined;
        await sleep(25);
      }
      const afterMs = Date.now() - since;
      const exitPath = serviceFiles(env.roots, project.name, service).exit;
      // The monitor writes the record right after the exit.
      for (let i = 0; i < 40; i++) {
        const exit = readExitRecord(exitPath);
        if (exit && exit.pid === process.pid && exit.startTime === process.startTime) {
          return { afterMs, description: describeExit(exit), success: exit.exitCode === 0 };
        }
        await sleep(25);
      }
      return { afterMs, description: 'exited', success: false };
    },
    owner(service) {
      if (!owners.has(service)) {
        const spec = project.services[service]!;
        if (spec.user === undefined) owners.set(service, undefined);
        else {
          userDb ??= loadUserDb();
          const id = resolveUser(service, spec.user, userDb);
          owners.set(service, { uid: id.uid, gid: id.gid });
        }
      }
      return owners.get(service);
    },
  };
}

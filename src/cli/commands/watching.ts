// A running watch of `stack watch` and `stack up --watch`: the rules' initial syncs, the session
// over the file watchers, and the verbs it acts through. Both commands import it; neither
// imports the other.
import { imageUserDb } from './ready-images.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from '../context.js';
import { UserError } from '../../errors.js';
import type { Project, WatchExec } from '../../spec/project.js';
import type { RunEnv } from './executor-env.js';
import { serviceRecords } from '../../state/records.js';
import { execInService, execTargetOf, loadUserDb, resolveUser } from '../../runtime/index.js';
import { describeExit, readExitRecord } from '../../state/exit-record.js';
import { serviceFiles } from '../../state/service-files.js';
import { isSameProcess } from '../../sys/proc.js';
import { readSnapshot } from '../../state/snapshot.js';
import { nullSink } from '../../executor/events.js';
import { ruleContext } from '../../watch/prepare.js';
import { WatchSession, type EarlyExit, type PreparedRule, type WatchActions } from '../../watch/session.js';
import { watchPath } from '../../watch/watcher.js';
import { initialSync } from '../../watch/initial.js';
import { beginRestart, restartServices, stopServicesNamed } from './lifecycle.js';
import { withReplicas } from './running-project.js';
import { replicaOf } from '../../planner/replicas.js';

/** A running watch; close() stops it (the services keep running). */
export interface Watching {
  close(): Promise<void>;
}

/** Starts watching the prepared rules of `project` (its services are up); lines go to ctx.stdout. */
export async function startWatching(
  ctx: CommandContext,
  project: Project,
  env: RunEnv,
  rules: readonly PreparedRule[],
  options: { quietMs?: number; rebuild?: RebuildService } = {},
): Promise<Watching> {
  const names = [...new Set(rules.map((r) => r.service))];
  const line = watchLine(Object.keys(project.services), (ctx.stdout as NodeJS.WriteStream).isTTY === true, ctx.stdout);
  const actions = serviceActions(project, env, line, options.rebuild);
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
/** `stack up -d --build --no-deps SERVICE`, as the caller runs `up` (watch's `rebuild` action). */
export type RebuildService = (service: string) => Promise<number>;

/** A `rebuild` through `up`: the image built again (its output only when it fails), then an up of the service alone, which recreates it on the new image. */
export function rebuildThrough(ctx: CommandContext, up: (ctx: CommandContext) => Promise<number>): RebuildService {
  return (service) => up({ ...ctx, args: ['-d', '--no-deps', '--build', '--progress', 'quiet', service] });
}

function serviceActions(project: Project, env: RunEnv, line: (service: string, text: string) => void, rebuild: RebuildService | undefined): WatchActions {
  const sink = { ...nullSink, notice: (message: string) => line('', message) }; // events stay quiet: one line per action is printed instead
  let userDb: ReturnType<typeof loadUserDb> | undefined;
  const owners = new Map<string, { uid: number; gid: number } | undefined>();
  /**
   * The project as the last `up` made it, when it has `service` (a restart applies no edit of the
   * spec since: `up` does; a scaled service is every replica up made), else as loaded.
   */
  const asUpMadeIt = async (service: string): Promise<Project> => {
    const applied = (await readSnapshot(env.roots, project.name))?.project;
    return applied?.services[service] ? applied : project;
  };
  return {
    async restart(service, cause) {
      const target = await asUpMadeIt(service);
      const made = await restartServices({ env, project: target, services: withReplicas(target, [service]), cause, sink });
      // After a `stack down` elsewhere there is nothing to restart: say so rather than a restart line.
      if (made === 0) throw new UserError('SERVICE_NOT_UP', `service "${service}" is not up (was the project taken down?)`, 'run `stack up` (or restart `stack watch`) to bring it back');
    },
    async beginRestart(service) {
      const target = await asUpMadeIt(service);
      const begun = await beginRestart({ env, project: target, services: withReplicas(target, [service]), cause: 'files changing', sink });
      return {
        async finish(cause) {
          const made = await begun.finish(cause);
          if (made === 0) throw new UserError('SERVICE_NOT_UP', `service "${service}" is not up (was the project taken down?)`, 'run `stack up` (or restart `stack watch`) to bring it back');
        },
      };
    },
    ...(rebuild !== undefined && {
      async rebuild(service: string) {
        const code = await rebuild(service);
        if (code !== 0) throw new UserError('WATCH_REBUILD_FAILED', `the up after the rebuild of "${service}" ended with status ${code}`, 'its output above says why');
      },
    }),
    async pause(service) {
      const target = await asUpMadeIt(service);
      await stopServicesNamed({ env, project: target, services: withReplicas(target, [service]), cause: 'exited right after a watch restart', sink });
    },
    async exec(service, hook: WatchExec) {
      // In every running replica of the service, as compose runs it in each container; the
      // result names the replicas that failed or were not running.
      const from = await asUpMadeIt(service);
      const keys = withReplicas(from, [service]);
      const failed: string[] = [];
      let output = '';
      let ran = 0;
      let failure: { exitCode: number | null } | undefined;
      for (const key of keys) {
        const record = await serviceRecords.read(env.roots, project.name, key);
        // The service as up made it (an image service's environment, user and folder come from its image).
        const spec = from.services[key] ?? project.services[service]!;
        const label = keys.length > 1 ? (spec.containerName ?? `${project.name}-${service}-${replicaOf(key).index}`) : service;
        const target = record && execTargetOf(record, spec);
        if (!target) {
          failed.push(`${label} not running`);
          continue;
        }
        const hookUserDb = hook.user !== undefined ? await imageUserDb(spec, env.roots) : undefined;
        const result = await execInService(target, hook.command, {
          env: hook.environment,
          ...(hook.user !== undefined && { user: hook.user }),
          ...(hookUserDb !== undefined && { userDb: hookUserDb }),
          ...(hook.workingDir !== undefined && { workingDir: hook.workingDir }),
          ...(hook.privileged && { privileged: true }),
          timeoutMs: 60_000,
          maxOutputBytes: 64 * 1024,
        });
        ran++;
        if (result.exitCode !== 0) {
          failure ??= { exitCode: result.exitCode };
          failed.push(`${label} exited with ${result.exitCode ?? 'a signal'}`);
          output = `${result.stdout}${result.stderr}`; // the last failure's output
        } else if (output === '') output = `${result.stdout}${result.stderr}`;
      }
      if (ran === 0) throw new UserError('SERVICE_NOT_RUNNING', `service "${service}" is not running`, 'start it with `stack up`');
      if (failed.length === 0) return { exitCode: 0, output };
      // The first failure's code (1 for a replica not running); with several replicas, which
      // failed after the output kept (the last lines are what watch shows).
      return { exitCode: failure?.exitCode ?? 1, output: keys.length === 1 ? output : `${output.trimEnd()}\n${failed.join('; ')}` };
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

// `stack watch [SERVICE...]`: brings the services up (unless --no-up), then acts on their
// develop.watch rules as files change, one line per action. Ctrl-C stops watching and leaves the
// services running. `stack up --watch` uses startWatching() (watching.ts) beside its log output.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { UserError } from '../../errors.js';
import { executorEnv } from './executor-env.js';
import { supervisorControl } from '../../supervisor/index.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { prepareRules, watchedServices } from '../../watch/prepare.js';
import { expandReplicas, replicaKeys } from '../../planner/replicas.js';
import { readSnapshot } from '../../state/snapshot.js';
import { assertServices } from './assert-services.js';
import { rebuildThrough, startWatching } from './watching.js';

const HELP = `Usage: stack watch [OPTIONS] [SERVICE...]

Bring the services up, then act on their develop.watch rules as their files change:
restart, sync (copy into the service's volume), sync+restart, sync+exec. Ctrl-C stops
watching; the services keep running (\`stack down\` removes them).

Options:
      --no-up           Do not start the services first (they must be up)
      --quiet           Print nothing while bringing the services up
      --debounce MS     Quiet window that joins a burst of changes into one action (default 50;
                        five of them after a deletion, which an editor's save follows with a create)
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
  const project = await loadFromContext(ctx, false, positionals);
  assertServices(project, positionals, 'watch');
  const services = watchedServices(project, positionals);
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)));
  // Every rule is checked before anything starts: a bad rule changes nothing. With --no-up the
  // services run as the last `up` made them (perhaps with --scale): their replicas are those.
  const running = values['no-up'] ? (await readSnapshot(env.roots, project.name).catch(() => undefined))?.project : undefined;
  const expanded = expandReplicas(project);
  const rules = prepareRules(project, services, env.roots, (service) => replicaKeys((running?.services[service] ? running : expanded).services, service));

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
    const up = await import('./up.js');
    const watching = await startWatching(ctx, project, env, rules, { ...(quietMs !== undefined && { quietMs }), rebuild: rebuildThrough(ctx, (c) => up.run(c)) });
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

// `stack kill [-s SIGNAL] [SERVICE...]`: send a signal (default SIGKILL) to each service's main
// process, checked by pid AND start time and signalled through a pidfd (src/sys/pidfd.ts), so a
// pid reused meanwhile is never hit; dependents first.
//
// Restarts, as Docker decides them (moby daemon/kill.go, killWithSignal): SIGKILL, or the
// service's own stop signal, cancels the container's restart manager, so even `restart: always`
// does not restart it — here the process is marked stopped by the user before the signal, which
// the supervisor honours. Any other signal (SIGUSR1, SIGHUP) is just delivered: if it ends the
// process, the restart policy applies. `stack start` or `stack up` starts a killed service again.
import { constants as osConstants } from 'node:os';
import { UserError } from '../../errors.js';
import { PinnedProcess } from '../../sys/pidfd.js';
import { openCgroups, pauseMarked, signalNumber, unpauseGroup } from '../../runtime/control.js';
import { planStop } from '../../planner/index.js';
import { acquireProjectLock } from '../../state/lock.js';
import { observe } from '../../state/observe.js';
import { serviceRecords } from '../../state/records.js';
import { markStoppedByUser } from '../../supervisor/index.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { runningProject, withReplicas } from './running-project.js';

const HELP = `Usage: stack kill [OPTIONS] [SERVICE...]

Send a signal to the main process of services (all when none is named).
SIGKILL or the service's stop_signal counts as stopping it: its restart policy does not
restart it (as Docker). Other signals are only delivered.

Options:
  -s, --signal SIGNAL   Signal to send (default SIGKILL)
      --remove-orphans  Accepted for compose's sake; stack kill removes nothing
  -h, --help            Print this help
`;

/** How long a SIGKILLed process may take to be gone. */
const KILL_WAIT_MS = 5000;

/** Runs `stack kill`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'kill',
    ctx.args,
    {
      signal: { type: 'string', short: 's', default: 'SIGKILL' },
      'remove-orphans': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const signal = parseSignal(values.signal);
  if (values['remove-orphans']) ctx.stderr.write('note: --remove-orphans is ignored: stack kill removes nothing (`stack up` removes services the spec no longer has)\n');
  const { env, name, project } = await runningProject(ctx, 'kill', positionals);
  if (!project) {
    ctx.stderr.write('No service to kill\n');
    return 0;
  }
  const services = positionals.length ? withReplicas(project, positionals) : Object.keys(project.services);
  const lock = await acquireProjectLock(env.roots, name, { command: 'stack kill', wait: true });
  try {
    const live = await observe(name, { roots: env.roots });
    // The stop plan gives the order (dependents first) and only services whose process is alive.
    const order = planStop(project, live, { services, cause: 'stack kill' }).operations.flatMap((op) => (op.kind === 'stop-service' ? [op.service] : []));
    if (order.length === 0) ctx.stderr.write('No service to kill\n');
    for (const service of order) {
      const record = await serviceRecords.read(env.roots, name, service);
      const target = record?.process;
      const pinned = target ? PinnedProcess.open(target.pid, target.startTime) : undefined;
      if (!target || !pinned) continue;
      try {
        const stopSignal = (record.stop as { signal?: unknown } | undefined)?.signal;
        const stops = signal.number === signalNumber(service, 'SIGKILL') || (typeof stopSignal === 'string' && signalNumber(service, stopSignal) === signal.number);
        if (stops) await markStoppedByUser(name, service, target, env.roots);
        if (!pinned.signal(signal.number)) continue; // it exited meanwhile
        ctx.stderr.write(`${service}  ${signal.name} sent to pid ${target.pid}${stops ? ' (stopped: not restarted)' : ''}\n`);
        // Paused: a signal that stops it (SIGKILL, its stop signal) is acted on once thawed, as
        // Docker's kill resumes the container (on cgroup v1 a frozen process does not even die of
        // SIGKILL); any other signal waits, queued, for its unpause.
        if (stops && pauseMarked(env.roots, name, service)) await unpauseGroup(env.roots, name, service, (await openCgroups()).open(name, service), record.cgroups);
        if (signal.name === 'SIGKILL') await pinned.waitExit(KILL_WAIT_MS);
      } finally {
        pinned.close();
      }
    }
  } finally {
    await lock.release();
  }
  return 0;
}

/** `-s KILL`, `-s SIGUSR1`, `-s 9` → its number and SIG name. */
function parseSignal(value: string): { number: number; name: string } {
  try {
    const number = signalNumber('kill', value);
    const signals = osConstants.signals as Record<string, number>;
    const name = Object.keys(signals).find((k) => signals[k] === number) ?? String(number);
    return { number, name };
  } catch {
    throw new UserError('SIGNAL_UNKNOWN', `stack kill: unknown signal ${JSON.stringify(value)}`, 'use a name from signal(7), e.g. SIGKILL, SIGTERM, SIGHUP, SIGUSR1');
  }
}

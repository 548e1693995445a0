// `stack wait SERVICE...`: blocks until the named services' running processes have stopped,
// saying how each ended, and exits with the status code of the last to stop, as `docker compose
// wait` does (a signal's death is 128 + its number, as Docker reports it); `--down-project`
// then takes the project down. Each process is pinned by a pidfd and watched for its exit
// (sys/exit-watch.ts): no polling while they run.
import { constants as osConstants } from 'node:os';
import { UserError } from '../../errors.js';
import { readExitRecord, type ExitRecord } from '../../state/exit-record.js';
import { serviceRecords } from '../../state/records.js';
import { serviceFiles } from '../../state/service-files.js';
import { ExitWatcher } from '../../sys/exit-watch.js';
import { PinnedProcess } from '../../sys/pidfd.js';
import { parseCommandOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { runningProject, withReplicas } from './running-project.js';

const HELP = `Usage: stack wait [OPTIONS] SERVICE [SERVICE...]

Block until the named services' running processes stop, printing how each ended, and exit with
the status code of the last one to stop (128 + the signal's number for one a signal ended).

Options:
      --down-project   Take the project down (as \`stack down\`) once they have stopped
  -h, --help           Print this help
`;

/** How long the exit record may take to appear once the process is gone (its monitor writes it as it reaps). */
const RECORD_WAIT_MS = 2000;

/** Runs `stack wait`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('wait', ctx.args, {
    'down-project': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UserError('CLI_BAD_ARGUMENTS', 'stack wait needs at least one service', 'e.g. stack wait migrate');
  const { env, name, project } = await runningProject(ctx, 'wait', positionals);
  const services = project ? withReplicas(project, positionals) : [];
  const running: { service: string; pid: number; startTime: number }[] = [];
  for (const service of services) {
    const process = (await serviceRecords.read(env.roots, name, service))?.process;
    if (process) running.push({ service, ...process });
  }
  const watcher = ExitWatcher.open();
  const waits = running.flatMap(({ service, pid, startTime }) => {
    // Pinned now: one that is already gone (or another process has its pid) is not waited for.
    const pinned = PinnedProcess.open(pid, startTime);
    if (pinned === undefined) return [];
    return [{ service, pid, startTime, exited: exitOf(pinned, watcher) }];
  });
  if (waits.length === 0) {
    throw new UserError('NOTHING_RUNNING', `stack wait: no running process of ${positionals.map((s) => `"${s}"`).join(', ')} in project ${name}`, 'see `stack ps -a`');
  }
  let status = 0;
  try {
    await Promise.all(
      waits.map(async ({ service, pid, startTime, exited }) => {
        await exited;
        const record = await exitRecordOf(serviceFiles(env.roots, name, service).exit, pid, startTime);
        status = statusCode(record);
        ctx.stdout.write(`${service} ${record === undefined ? 'exited (no exit record)' : `exited with status code ${status}`}\n`);
      }),
    );
  } finally {
    watcher?.close();
  }
  if (values['down-project']) {
    const down = await (await import('./down.js')).run({ ...ctx, args: [] });
    if (down !== 0) return down;
  }
  return status;
}

/** Resolves once `pinned` has exited (closing it): told by the exit watcher, else found by polling its pidfd. */
async function exitOf(pinned: PinnedProcess, watcher: ExitWatcher | undefined): Promise<void> {
  try {
    if (watcher !== undefined) {
      const told = new Promise<void>((resolve) => {
        const stop = watcher.watch(pinned.pid, pinned.startTime, resolve, resolve);
        if (stop === undefined) resolve(); // gone meanwhile
      });
      await told;
    }
    while (!(await pinned.waitExit(60_000))) {
      // still running: compose's wait has no timeout either
    }
  } finally {
    pinned.close();
  }
}

/** The monitor's exit record of that process, waited for up to RECORD_WAIT_MS. */
async function exitRecordOf(path: string, pid: number, startTime: number): Promise<ExitRecord | undefined> {
  const deadline = Date.now() + RECORD_WAIT_MS;
  for (;;) {
    const record = readExitRecord(path);
    if (record !== undefined && record.pid === pid && record.startTime === startTime) return record;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The status code Docker reports: the exit code, or 128 + the number of the signal that ended it. */
function statusCode(record: ExitRecord | undefined): number {
  if (record === undefined) return 1;
  if (record.signal === null) return record.exitCode ?? 1;
  return 128 + ((osConstants.signals as Record<string, number | undefined>)[record.signal] ?? 0);
}

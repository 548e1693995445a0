// `stack top [SERVICE...]`: the processes of each running service, as `docker compose top`
// prints them: a heading per service (its compose container name), then `ps -f`'s columns
// (UID PID PPID C STIME TTY TIME CMD, host pids, as docker top shows) for every process of the
// service's cgroups. Read-only: takes no lock.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { formatTable } from '../render/table.js';
import { runningProject, withReplicas } from './running-project.js';
import { cgroupPids, runningServices } from './service-cgroups.js';

const HELP = `Usage: stack top [SERVICE...]

Print the processes of each running service (all of them when none is named).

Options:
  -h, --help   Print this help
`;

/** docker top's columns (ps -f). */
export const TOP_HEADER = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'] as const;

/** Rows of `ps -o user=,pid=,ppid=,c=,stime=,tty=,time=,args=` output: seven words, then the command line. */
export function parsePsRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$/.exec(line);
      return m ? m.slice(1, 9) : [line];
    });
}

/** The ps rows of `pids` (those that exist by the time ps looks), in pid order. */
export async function processRows(pids: readonly number[]): Promise<string[][]> {
  if (pids.length === 0) return [];
  const args = ['-ww', '-o', 'user:32=,pid=,ppid=,c=,stime=,tty=,time=,args=', '-p', pids.join(',')];
  try {
    const { stdout } = await promisify(execFile)('ps', args, { maxBuffer: 16 * 1024 * 1024 });
    return parsePsRows(stdout);
  } catch (e) {
    // ps exits 1 when none of the pids exists any more; anything else (no ps) is for the user.
    const err = e as { stdout?: string; code?: unknown };
    if (err.code === 1) return parsePsRows(err.stdout ?? '');
    if (err.code === 'ENOENT') throw new UserError('TOP_NO_PS', 'stack top needs `ps` (procps) on PATH', 'install it: apt-get install procps');
    throw e;
  }
}

/** Runs `stack top`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('top', ctx.args, { help: { type: 'boolean', short: 'h', default: false } }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const { env, name, project } = await runningProject(ctx, 'top', positionals);
  const wanted = new Set(project ? withReplicas(project, positionals) : positionals);
  const services = (await runningServices(env.roots, name)).filter((s) => wanted.size === 0 || wanted.has(s.name));
  const blocks: string[] = [];
  for (const s of services) {
    const rows = await processRows(await cgroupPids(s.cgroups));
    if (rows.length === 0) continue;
    const heading = project?.services[s.name]?.containerName ?? `${name}-${s.name}-1`;
    blocks.push(`${heading}\n${formatTable([[...TOP_HEADER], ...rows])}`);
  }
  ctx.stdout.write(blocks.join('\n'));
  return 0;
}

// Runs the firewall's programs (iptables) in the host's network namespace or in a named
// one (nsenter --net), so the same code serves `stack up` and the tests' throwaway "host" netns.
import { constants } from 'node:fs';
import { accessSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { DEFAULT_SEARCH_PATH } from '../../runtime/control.js';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { spawnPiped, type PipedChild } from '../../sys/spawn.js';
import { communicate } from '../../sys/fd-io.js';
import { readyWatcher, type ReadyWatcher } from '../../sys/ready-watch.js';

/** Where firewall commands take effect: the caller's netns, or the netns bind-mounted at `netnsPath`. */
export interface NetTarget {
  readonly netnsPath?: string;
}

/** The host's own network namespace (what `stack up` uses). */
export const HOST: NetTarget = {};

/** A program that exited non-zero: the whole command line, where it ran, and what it said. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(
      `${command}: exit ${exitCode ?? '?'}${stderr ? `: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}` : ''}`,
    );
  }
}

/** Debian packages of the programs the firewall runs, for the hint when one is missing. */
const PACKAGES: Record<string, string> = {
  'iptables-nft': 'iptables',
  'iptables-legacy': 'iptables',
  nsenter: 'util-linux',
};

/** Runs `file args` in the target netns with `input` on stdin; resolves to stdout. */
export async function run(target: NetTarget, file: string, args: readonly string[], input?: string): Promise<string> {
  const [bin, argv] = target.netnsPath
    ? ['nsenter', [`--net=${target.netnsPath}`, '--', file, ...args]]
    : [file, [...args]];
  const shown = `${file} ${args.join(' ')}${target.netnsPath ? ` (in ${target.netnsPath})` : ''}`;
  const result = await spawnCollect(bin, argv, input ?? '');
  if (result.code === 'ENOENT' || (target.netnsPath && result.exitCode === 127)) {
    throw new UserError(
      'MISSING_COMMAND',
      `${file} is not installed (needed for: ${shown})`,
      `apt-get install ${PACKAGES[file] ?? file}`,
    );
  }
  if (result.exitCode !== 0) throw new CommandError(shown, result.exitCode, result.stderr);
  return result.stdout;
}

/** What a finished program left: its exit code (undefined when killed or never started), output, spawn error code. */
interface Finished {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly code?: string;
}

/**
 * Runs `bin argv` with `input` on stdin and collects its output. posix_spawn off this thread
 * and the stdio read as they turn ready (sys/spawn.ts spawnPiped, sys/fd-io.ts), as the
 * launchers are: no child_process, no streams (execa's ~140 modules once cost every `stack
 * up`/`down` 0.1-0.2 s for these few calls; node:net and the streams ~3 ms of every `up` on a
 * host whose FORWARD policy is DROP).
 */
async function spawnCollect(bin: string, argv: readonly string[], input: string): Promise<Finished> {
  let child: PipedChild;
  let watcher: ReadyWatcher;
  try {
    watcher = readyWatcher();
    child = await spawnPiped(bin, argv);
  } catch (e) {
    return { exitCode: undefined, stdout: '', stderr: e instanceof Error ? e.message : String(e), code: (e as NodeJS.ErrnoException).code ?? 'ERROR' };
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const said = await communicate(child, Buffer.from(input, 'utf8'), watcher, (stdout, stderr) => Promise.all([exited, stdout.ended, stderr.ended]));
  return { exitCode: (await exited) ?? undefined, ...said };
}

/**
 * Whether `file` can be run at all (an optional backend such as iptables-legacy): an executable
 * of that name on PATH, as spawn would find it. Looked up, not run (a spawn cost every network
 * 10-15 ms); the netns does not matter, nsenter --net changes nothing of the filesystem.
 */
export async function has(_target: NetTarget, file: string): Promise<boolean> {
  // Synchronous: a few metadata calls. Through libuv's pool they queued behind the placement of
  // the first launchers (cgroup.procs writes that wait for RCU grace periods), and the iptables
  // holes started 7 ms and more late. A stat that finds nothing answers without an exception:
  // an access(2) of each PATH entry threw one a miss, and a `down`'s first look for
  // iptables-nft through 11 PATH entries was 3.4 ms of its profile.
  for (const dir of (process.env.PATH || DEFAULT_SEARCH_PATH).split(':')) {
    if (dir === '') continue;
    const path = join(dir, file);
    let found;
    try {
      found = statSync(path, { throwIfNoEntry: false });
    } catch {
      continue; // a PATH entry that is no folder (ENOTDIR), or one not to be looked into
    }
    if (found?.isFile() !== true) continue;
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      // not executable here: spawn would go on looking too
    }
  }
  return false;
}

/** Reads a file under /proc that depends on the netns (/proc/net/..., /proc/sys/net/...). */
export async function readNetProc(target: NetTarget, path: string): Promise<string> {
  if (!target.netnsPath) return readFileSync(path, 'utf8'); // a small /proc file: no pool trip
  return run(target, 'cat', [path]);
}

/** Writes a netns-dependent /proc file, e.g. a net sysctl. */
export async function writeNetProc(target: NetTarget, path: string, value: string): Promise<void> {
  if (!target.netnsPath) return writeFileSync(path, value); // a sysctl: no pool trip
  await run(target, 'tee', [path], value);
}

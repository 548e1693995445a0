// What `up`, `down` and `gc` hand the executor, read from the command's environment: where
// state lives, who invoked sudo, whether to touch ip_forward.
import { UserError } from '../../errors.js';
import type { ExecutorEnv } from '../../executor/context.js';
import type { SupervisorControl } from '../../executor/supervisor.js';
import { stateRoots, type StateRoots } from '../../state/paths.js';
import type { CommandContext } from '../context.js';

/** SUDO_UID/SUDO_GID when run under sudo: the folders stack creates in the project belong to that user. */
function invoker(env: CommandContext['env']): ExecutorEnv['invoker'] {
  const uid = env.SUDO_UID;
  const gid = env.SUDO_GID;
  if (uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return undefined;
  return { uid: Number(uid), gid: Number(gid) };
}

/** STACK_IP_FORWARD=leave keeps stack's hands off net.ipv4.ip_forward (tests; hosts managed otherwise). */
function ipForward(env: CommandContext['env']): ExecutorEnv['ipForward'] {
  const value = env.STACK_IP_FORWARD;
  if (value === undefined || value === '' || value === 'enable') return 'enable';
  if (value === 'leave') return 'leave';
  throw new UserError('BAD_ENVIRONMENT', `STACK_IP_FORWARD=${value} is not understood`, 'use STACK_IP_FORWARD=enable (default) or leave');
}

/** `--timeout N` (seconds) as milliseconds. */
export function timeoutMs(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack ${command}: --timeout ${value} is not a number of seconds`, 'e.g. --timeout 10');
  }
  return Math.round(Number(value) * 1000);
}

/** The executor's environment of a command, its state root always set. */
export type RunEnv = ExecutorEnv & { readonly roots: StateRoots };

/** The executor's environment for this command line. */
export function executorEnv(ctx: Pick<CommandContext, 'env'>, supervisor: SupervisorControl, stopTimeoutMs?: number): RunEnv {
  const who = invoker(ctx.env);
  return {
    supervisor,
    roots: stateRoots(ctx.env as NodeJS.ProcessEnv),
    ipForward: ipForward(ctx.env),
    ...(who && { invoker: who }),
    ...(stopTimeoutMs !== undefined && { stopTimeoutMs }),
  };
}

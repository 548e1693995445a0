// Applies and removes the project's nftables table, atomically: one nf_tables batch over
// netlink (ruleset.ts builds it), what `nft -f -` would send, without starting nft (a program
// that loads libnftables and parses its script: ~15 ms of CPU in every `up` that makes a network).
import { KernelError, UserError } from '../../errors.js';
import { nftTableName } from '../../names.js';
import type { NftMessage } from '../nl/index.js';
import { inNetnsAt } from '../netns.js';
import { NetlinkSocket } from '../socket.js';
import { NETLINK_NETFILTER } from '../../sys/libc.js';
import { deleteRequests, type FirewallNetwork, rulesetRequests } from './ruleset.js';
import type { NetTarget } from './run.js';

/**
 * Runs `fn` with an nf_tables netlink socket of its own in the target's network namespace. What
 * waits in the kernel is done on libuv's threads: a batch (applying a table, ~8 ms traced in a
 * fresh `up`), a request that waits for a batch under way (nfnetlink serializes them), and the
 * socket's release (after a change it waits for the transaction's cleanup: 2 ms traced, 5-19 ms
 * measured in a namespace of its own). Meanwhile this thread makes the services' namespaces,
 * veths and cgroups. The release is not waited for: its failure could only be a descriptor
 * closed already.
 */
export async function withNftSocket<T>(target: NetTarget, fn: (socket: NetlinkSocket) => Promise<T>): Promise<T> {
  const open = () => NetlinkSocket.open(NETLINK_NETFILTER);
  const socket = target.netnsPath ? inNetnsAt(target.netnsPath, open) : open();
  try {
    return await fn(socket);
  } finally {
    socket.closeOffThread().catch(() => undefined);
  }
}

/** Replaces the project's table with one for `networks`; with no networks left, removes it. */
export async function applyRuleset(
  project: string,
  networks: readonly FirewallNetwork[],
  target: NetTarget = {},
): Promise<void> {
  const requests: readonly NftMessage[] = networks.length ? rulesetRequests(project, networks) : deleteRequests(project);
  // The kernel's refusal of the batch is explained; a socket that cannot be opened (a namespace
  // that is gone, no netlink) is reported as it is.
  await withNftSocket(target, async (socket) => {
    try {
      await socket.batch(requests);
    } catch (e) {
      throw e instanceof KernelError ? refused(project, e) : e;
    }
  });
}

/** What the kernel's refusal of the table means for the person who ran stack. */
function refused(project: string, e: KernelError): UserError {
  const table = `inet ${nftTableName(project)}`;
  const hint =
    e.errno === 'EPERM'
      ? `it takes CAP_NET_ADMIN (run stack as root), and a table another program owns (\`flags owner\`) cannot be replaced: \`nft list table ${table}\` shows it`
      : ['ENOENT', 'EOPNOTSUPP', 'EAFNOSUPPORT', 'EPROTONOSUPPORT'].includes(e.errno)
        ? 'the kernel lacks a part of nf_tables the table needs (nf_tables, nft_ct, nft_masq, nf_nat): load the modules or enable them'
        : `\`nft list ruleset\` shows what the kernel holds`;
  return new UserError('FIREWALL_REFUSED', `the kernel refused the firewall of project ${project} (table ${table}): ${e.message}`, hint, { cause: e });
}

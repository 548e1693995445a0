// Applies and removes the project's nftables table, atomically (one `nft -f -` transaction).
import { nftTableName } from '../../names.js';
import { deleteScript, type FirewallNetwork, rulesetScript } from './ruleset.js';
import { type NetTarget, run } from './run.js';

/** Replaces the project's table with one for `networks`; with no networks left, removes it. */
export async function applyRuleset(
  project: string,
  networks: readonly FirewallNetwork[],
  target: NetTarget = {},
): Promise<void> {
  await run(target, 'nft', ['-f', '-'], networks.length ? rulesetScript(project, networks) : deleteScript(project));
}

/** Removes the project's table; a table that is already gone is success. */
export async function deleteRuleset(project: string, target: NetTarget = {}): Promise<void> {
  await run(target, 'nft', ['-f', '-'], deleteScript(project));
}

/** Whether the project's table exists (observation for the planner and teardown checks). */
export async function hasRuleset(project: string, target: NetTarget = {}): Promise<boolean> {
  const out = await run(target, 'nft', ['list', 'tables', 'inet']);
  return out.split('\n').some((line) => line.trim() === `table inet ${nftTableName(project)}`);
}

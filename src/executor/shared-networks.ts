// Before a plan is walked: a network of this project that other projects' services are plugged
// into (as an external network, network/external.ts) is not recreated — they would be left on a
// bridge that is gone. Refused before anything is touched, naming them.
import { UserError } from '../errors.js';
import { attachedGuests } from '../network/external.js';
import { bridgeName } from '../names.js';
import type { Plan } from '../planner/plan.js';
import type { Project } from '../spec/project.js';
import { networkRecords } from '../state/records.js';
import type { StateRoots } from '../state/paths.js';
import { ipamStore } from './ipam.js';

/** Throws NETWORK_IN_USE when `plan` recreates a network other projects are attached to. */
export async function refuseRecreatingShared(roots: StateRoots, project: Project, plan: Plan): Promise<void> {
  const recreated = plan.operations.filter((op) => op.kind === 'remove-network' && project.networks[op.network] !== undefined);
  if (recreated.length === 0) return;
  const record = await ipamStore(roots, project.name).read().catch(() => undefined);
  for (const op of recreated) {
    if (op.kind !== 'remove-network') continue;
    const bridge = (await networkRecords.read(roots, project.name, op.network))?.bridge ?? bridgeName(project.name, op.network);
    const guests = await attachedGuests(record, op.network, bridge);
    if (guests.length === 0) continue;
    throw new UserError(
      'NETWORK_IN_USE',
      `network ${op.network} cannot be recreated (${op.cause}): ${guests.join(', ')} of other projects ${guests.length === 1 ? 'is' : 'are'} attached to it`,
      'run `stack down` in those projects (or take the network out of their spec) first, or undo the change',
    );
  }
}

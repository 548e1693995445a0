// A leaving service's record goes with the last step that removes something of it (remove-service,
// each detach-veth, remove-netns), in whatever order they end: remove-service no longer waits for
// the others (planner/edges.ts), and until the last, the record still names what is left.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunContext } from '../../../src/executor/context.js';
import { removalStepDone } from '../../../src/executor/handlers/leaving.js';
import { stateRoots, type StateRoots } from '../../../src/state/paths.js';
import { freshServiceRecord, serviceRecords } from '../../../src/state/records.js';

let dir: string;
let roots: StateRoots;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stack-leaving-'));
  roots = stateRoots({ STACK_ROOT: dir });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The part of a run removalStepDone reads: the project as the plan leaves it, the plan's ids. */
function run(services: Record<string, unknown>, planned: string[]): RunContext {
  return { project: { name: 'shop', services }, roots, planned: new Set(planned) } as unknown as RunContext;
}

const WEB_STEPS = ['stop-service:web', 'detach-veth:web/default', 'detach-veth:web/back', 'remove-netns:web', 'remove-service:web'];

describe('the record of a leaving service', () => {
  it.each([
    ['remove-service first', ['remove-service:web', 'detach-veth:web/default', 'detach-veth:web/back', 'remove-netns:web']],
    ['remove-service last', ['detach-veth:web/back', 'detach-veth:web/default', 'remove-netns:web', 'remove-service:web']],
    ['remove-service between', ['detach-veth:web/default', 'remove-service:web', 'detach-veth:web/back', 'remove-netns:web']],
  ])('goes with the last of its removal steps: %s', async (_order, steps) => {
    await serviceRecords.write(roots, freshServiceRecord('shop', 'web', 'boot'));
    await serviceRecords.write(roots, freshServiceRecord('shop', 'db', 'boot'));
    const ctx = run({}, [...WEB_STEPS, 'stop-service:db', 'remove-service:db']);
    for (const [i, step] of steps.entries()) {
      expect(await serviceRecords.read(roots, 'shop', 'web'), `before ${step}`).toBeDefined();
      await removalStepDone(ctx, 'web', step);
      expect((await serviceRecords.read(roots, 'shop', 'web')) === undefined).toBe(i === steps.length - 1);
    }
    expect(await serviceRecords.read(roots, 'shop', 'db')).toBeDefined(); // another service's steps are its own
  });

  it('goes with remove-service alone when nothing else of it is removed', async () => {
    await serviceRecords.write(roots, freshServiceRecord('shop', 'web', 'boot'));
    await removalStepDone(run({}, ['stop-service:web', 'remove-service:web']), 'web', 'remove-service:web');
    expect(await serviceRecords.read(roots, 'shop', 'web')).toBeUndefined();
  });

  it('stays while a step of it is left undone (failed: it never says it is done)', async () => {
    await serviceRecords.write(roots, freshServiceRecord('shop', 'web', 'boot'));
    const ctx = run({}, WEB_STEPS);
    for (const step of ['remove-service:web', 'detach-veth:web/default', 'remove-netns:web']) await removalStepDone(ctx, 'web', step);
    expect(await serviceRecords.read(roots, 'shop', 'web')).toBeDefined();
  });

  it('a service that stays in the project keeps its record', async () => {
    await serviceRecords.write(roots, freshServiceRecord('shop', 'web', 'boot'));
    const ctx = run({ web: {} }, ['detach-veth:web/default', 'remove-service:web']);
    for (const step of ['detach-veth:web/default', 'remove-service:web']) await removalStepDone(ctx, 'web', step);
    expect(await serviceRecords.read(roots, 'shop', 'web')).toBeDefined();
  });
});

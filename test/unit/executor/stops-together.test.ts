// The stops of a run under way at once (src/executor/handlers/stop.ts StopsTogether): once a
// stop's processes are gone, its last steps wait until every stop under way has got that far,
// then go on from the event loop's next turn, after what was queued there first (the walker
// begins from there what the stops' ready() let begin).
import { describe, expect, test } from 'vitest';
import { StopsTogether } from '../../../src/executor/handlers/stop.js';

const turn = (): Promise<void> => new Promise((go) => setImmediate(go));

describe('stops under way together', () => {
  test('a stop gone waits for the others under way; the last one gone lets them all go on, after what was queued before it', async () => {
    const together = new StopsTogether();
    const [a, b, c] = [together.enter(), together.enter(), together.enter()];
    const log: string[] = [];
    const goneA = a.gone().then(() => log.push('a goes on'));
    const goneB = b.gone().then(() => log.push('b goes on'));
    await turn();
    await turn();
    expect(log).toEqual([]); // c still runs
    setImmediate(() => log.push('queued before the last one gone (the walker)'));
    const goneC = c.gone().then(() => log.push('c goes on'));
    await Promise.all([goneA, goneB, goneC]);
    expect(log).toEqual(['queued before the last one gone (the walker)', 'a goes on', 'b goes on', 'c goes on']);
  });

  test('a stop that ends before its processes are gone (it failed) does not hold the others', async () => {
    const together = new StopsTogether();
    const [a, b] = [together.enter(), together.enter()];
    let goneOn = false;
    const goneA = a.gone().then(() => (goneOn = true));
    await turn();
    expect(goneOn).toBe(false);
    b.leave();
    await goneA;
    expect(goneOn).toBe(true);
  });

  test('a stop that begins while others wait is waited for too', async () => {
    const together = new StopsTogether();
    const a = together.enter();
    const b = together.enter();
    let aOn = false;
    const goneA = a.gone().then(() => (aOn = true));
    const late = together.enter(); // begun before b is gone
    const goneB = b.gone();
    await turn();
    await turn();
    expect(aOn).toBe(false);
    await late.gone();
    await Promise.all([goneA, goneB]);
    expect(aOn).toBe(true);
  });

  test('a stop that begins once the others went on (still ending) waits for none of them', async () => {
    const together = new StopsTogether();
    const [a, b] = [together.enter(), together.enter()];
    await Promise.all([a.gone(), b.gone()]); // both went on, neither has ended
    const c = together.enter();
    await c.gone(); // the gone ones count as gone until they end
    for (const stop of [a, b, c]) stop.leave();
  });
});

// The stops of a teardown (src/executor/stops-together.ts): once a stop's processes are gone, its
// last steps wait until every stop under way has got that far and every stop of the teardown has
// begun or was skipped, then go on from the event loop's next turn, after what was queued there
// first (the walker begins from there what the stops' ready() let begin).
import { describe, expect, test } from 'vitest';
import { StopsTogether, type StopTogether } from '../../../src/executor/stops-together.js';

const turn = (): Promise<void> => new Promise((go) => setImmediate(go));

/** The stops of a teardown of `names`, and each one's part as it begins. */
function teardown(...names: string[]): { together: StopsTogether; begin: (name: string) => StopTogether } {
  const together = new StopsTogether(new Set(names.map((n) => `stop-service:${n}`)));
  return {
    together,
    begin: (name) => {
      const part = together.join(`stop-service:${name}`);
      if (part === undefined) throw new Error(`${name} is not one of the teardown's stops`);
      return part;
    },
  };
}

describe('stops under way together', () => {
  test('a stop gone waits for the others under way; the last one gone lets them all go on, after what was queued before it', async () => {
    const { begin } = teardown('a', 'b', 'c');
    const [a, b, c] = [begin('a'), begin('b'), begin('c')];
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

  test('while a stop waits for its service to exit, the stops gone go on one per turn; once it is gone too, the rest go together', async () => {
    const { begin } = teardown('a', 'b', 'c', 'd', 'x');
    const [a, b, c, d, x] = [begin('a'), begin('b'), begin('c'), begin('d'), begin('x')];
    x.awaitsExit(); // signalled, in its grace period
    const log: string[] = [];
    const gone = [a, b, c, d].map((stop, i) => stop.gone().then(() => log.push(`${'abcd'[i]} goes on`)));
    await turn();
    expect(log).toEqual(['a goes on']);
    await turn();
    expect(log).toEqual(['a goes on', 'b goes on']);
    const goneX = x.gone().then(() => log.push('x goes on')); // its exit, seen between two of them
    await turn();
    expect(log).toEqual(['a goes on', 'b goes on', 'c goes on', 'd goes on', 'x goes on']);
    await Promise.all([...gone, goneX]);
  });

  test('a stop gone while others are let go one per turn joins the turns, one per turn still', async () => {
    const { begin } = teardown('a', 'b', 'c', 'x', 'y');
    const [a, b, c, x, y] = [begin('a'), begin('b'), begin('c'), begin('x'), begin('y')];
    x.awaitsExit();
    y.awaitsExit();
    const log: string[] = [];
    const gone = [a, b, c].map((stop, i) => stop.gone().then(() => log.push('abc'[i]!)));
    await turn();
    expect(log).toEqual(['a']);
    const goneY = y.gone().then(() => log.push('y')); // x still waits for its exit
    await turn();
    expect(log).toEqual(['a', 'b']);
    await turn();
    await turn();
    expect(log).toEqual(['a', 'b', 'c', 'y']);
    await Promise.all([...gone, goneY, x.gone()]);
  });

  test('a stop that begins while others are let go one per turn holds the rest back until it is gone too', async () => {
    const { begin } = teardown('a', 'b', 'x', 'd');
    const [a, b, x] = [begin('a'), begin('b'), begin('x')];
    x.awaitsExit();
    const log: string[] = [];
    const gone = [a, b].map((stop, i) => stop.gone().then(() => log.push('ab'[i]!)));
    await turn();
    expect(log).toEqual(['a']);
    const d = begin('d'); // let begin by a's ready(): running, neither gone nor waiting for an exit
    await turn();
    await turn();
    expect(log).toEqual(['a']);
    const goneD = d.gone().then(() => log.push('d'));
    await turn();
    await turn();
    expect(log).toEqual(['a', 'b', 'd']);
    await Promise.all([...gone, goneD, x.gone()]);
  });

  test('a stop that ends before its processes are gone (it failed) does not hold the others', async () => {
    const { begin } = teardown('a', 'b');
    const [a, b] = [begin('a'), begin('b')];
    let goneOn = false;
    const goneA = a.gone().then(() => (goneOn = true));
    await turn();
    expect(goneOn).toBe(false);
    b.leave();
    await goneA;
    expect(goneOn).toBe(true);
  });

  test('a stop that begins while others wait is waited for too', async () => {
    const { begin } = teardown('a', 'b', 'late');
    const a = begin('a');
    const b = begin('b');
    let aOn = false;
    const goneA = a.gone().then(() => (aOn = true));
    const late = begin('late'); // begun before b is gone
    const goneB = b.gone();
    await turn();
    await turn();
    expect(aOn).toBe(false);
    await late.gone();
    await Promise.all([goneA, goneB]);
    expect(aOn).toBe(true);
  });

  test('a stop that begins once the others went on (still ending) waits for none of them', async () => {
    const { begin } = teardown('x', 'a', 'b', 'c');
    const x = begin('x');
    x.awaitsExit(); // its grace period: the others go on meanwhile
    const [a, b] = [begin('a'), begin('b')];
    await Promise.all([a.gone(), b.gone()]); // both went on, neither has ended
    const c = begin('c');
    await c.gone(); // the gone ones count as gone until they end
    for (const stop of [a, b, c, x]) stop.leave();
  });

  test('in a depends_on chain, the last steps wait until the last stop of the teardown is gone', async () => {
    // c <- b <- a: c stops first, b once c is gone, a once b is gone.
    const { begin } = teardown('a', 'b', 'c');
    const log: string[] = [];
    const c = begin('c');
    const goneC = c.gone().then(() => log.push('c goes on'));
    await turn();
    await turn();
    const b = begin('b');
    const goneB = b.gone().then(() => log.push('b goes on'));
    await turn();
    await turn();
    expect(log).toEqual([]); // a has not begun yet
    const a = begin('a');
    const goneA = a.gone().then(() => log.push('a goes on'));
    await Promise.all([goneA, goneB, goneC]);
    expect(log).toEqual(['c goes on', 'b goes on', 'a goes on']);
  });

  test('a stop the walker skipped (one it waited for failed) is not waited for', async () => {
    const { together, begin } = teardown('a', 'b', 'c');
    const c = begin('c');
    let goneOn = false;
    const goneC = c.gone().then(() => (goneOn = true));
    const b = begin('b');
    b.leave(); // b failed before its processes were gone
    await turn();
    await turn();
    expect(goneOn).toBe(false); // a has not begun, nor was it skipped
    together.skipped('stop-service:x'); // not one of the teardown's: changes nothing
    await turn();
    expect(goneOn).toBe(false);
    together.skipped('stop-service:a');
    await goneC;
    expect(goneOn).toBe(true);
  });

  test('allGone: at once without stops; else once every stop of the teardown is gone, ended or skipped', async () => {
    let none = false;
    await new StopsTogether(new Set()).allGone.then(() => (none = true));
    expect(none).toBe(true);
    const { together, begin } = teardown('a', 'b', 'c');
    let all = false;
    void together.allGone.then(() => (all = true));
    const c = begin('c');
    void c.gone();
    const b = begin('b');
    await turn();
    expect(all).toBe(false); // b is still under way, a not begun
    b.leave(); // b failed
    await turn();
    expect(all).toBe(false); // a not begun
    together.skipped('stop-service:a');
    await together.allGone;
    expect(all).toBe(true);
  });

  test('a stop waiting for its service to exit on the stop signal holds no one: the last steps of those gone go on', async () => {
    // c <- b <- a; b takes its grace period: a cannot begin before b is gone, so c's last steps
    // (its record among them) do not wait for b's service.
    const { begin } = teardown('a', 'b', 'c');
    const c = begin('c');
    let cOn = false;
    const goneC = c.gone().then(() => (cOn = true));
    const b = begin('b');
    await turn();
    await turn();
    expect(cOn).toBe(false); // b still judging, before its signal
    b.awaitsExit();
    await goneC;
    expect(cOn).toBe(true);
    // Once b is gone, a begins; b's own last steps wait for a as before.
    let bOn = false;
    const goneB = b.gone().then(() => (bOn = true));
    await turn();
    await turn();
    expect(bOn).toBe(false);
    const a = begin('a');
    await Promise.all([a.gone(), goneB]);
    expect(bOn).toBe(true);
  });

  test('a stop that is not one of the teardown\'s has no part in it: it waits for no one, and no one for it', async () => {
    const { together, begin } = teardown('a');
    expect(together.join('stop-service:x')).toBeUndefined();
    const a = begin('a');
    await a.gone(); // the only stop of the teardown: nothing else is waited for
  });
});


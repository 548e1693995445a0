import { describe, expect, test } from 'vitest';
import { BURST_QUIET_MS, Batcher, HOLD_MAX_MS } from '../../../src/watch/batcher.js';
import { fakeClock } from '../../harness/fake-clock.js';

describe('batcher', () => {
  test('an editor save (a few events) closes after the quiet window', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock);
    for (let i = 0; i < 4; i++) {
      b.add(i);
      clock.advance(2);
    }
    clock.advance(47);
    expect(batches).toEqual([]);
    clock.advance(1);
    expect(batches).toEqual([[0, 1, 2, 3]]);
  });

  test('a burst of many changes is one batch even with a pause longer than the window in it', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock);
    for (let i = 0; i < 1000; i++) {
      b.add(i);
      clock.advance(i === 500 ? 120 : 1); // the tool paused (a busy machine)
    }
    expect(batches).toEqual([]);
    clock.advance(BURST_QUIET_MS);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(1000);
  });

  test('a batch whose last event announces another (a deleted file) waits five quiet windows for it (LINGER_WINDOWS), then closes as usual', () => {
    const clock = fakeClock();
    const batches: string[][] = [];
    const b = new Batcher<string>((items) => batches.push(items), 50, 2000, clock, () => false, (items) => items.at(-1) === 'unlink');
    b.add('unlink');
    clock.advance(249); // five windows of 50, less 1
    expect(batches).toEqual([]); // the create, late on a busy machine, still joins it
    b.add('add');
    clock.advance(49);
    expect(batches).toEqual([]);
    clock.advance(1);
    expect(batches).toEqual([['unlink', 'add']]);
    // A deletion alone closes once the longer window passed.
    b.add('unlink');
    clock.advance(250);
    expect(batches).toEqual([['unlink', 'add'], ['unlink']]);
  });

  test('a hold (git at work: index.lock) keeps the batch open past the cap, until released', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    let locked = true;
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock, () => locked);
    b.add(1);
    clock.advance(3000);
    b.add(2);
    clock.advance(1000);
    expect(batches).toEqual([]);
    locked = false;
    clock.advance(50);
    expect(batches).toEqual([[1, 2]]);
  });

  test('a hold never keeps a batch longer than HOLD_MAX_MS', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock, () => true);
    b.add(1);
    clock.advance(HOLD_MAX_MS + 100);
    expect(batches).toEqual([[1]]);
  });

  test('events apart by more than the window are separate batches', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock);
    b.add(1);
    clock.advance(60);
    b.add(2);
    clock.advance(60);
    expect(batches).toEqual([[1], [2]]);
  });

  test('a file written without pause still triggers at the cap', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock);
    for (let t = 0; t < 5000; t += 10) {
      b.add(t);
      clock.advance(10);
    }
    expect(batches.length).toBe(2); // at 2000 and 4000 ms
    expect(batches[0]![0]).toBe(0);
    expect(batches[1]![0]).toBe(2000);
  });

  test('cancel drops what is pending', () => {
    const clock = fakeClock();
    const batches: number[][] = [];
    const b = new Batcher<number>((items) => batches.push(items), 50, 2000, clock);
    b.add(1);
    b.cancel();
    clock.advance(100);
    expect(batches).toEqual([]);
  });
});

// followLogs joins a line's pieces as bytes: a character split between two P records, or a
// record that arrives in two writes, comes out whole; readLogToFollow hands over to it where it
// stopped reading.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followLogs, readLogToFollow } from '../../../src/runtime/follow.js';
import type { LogLine } from '../../../src/runtime/logs.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('decodes a UTF-8 character split across P records and across writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
  dirs.push(dir);
  const log = join(dir, 'service.log');
  const euro = Buffer.from('€', 'utf8'); // three bytes
  const time = '2026-11-22T16:00:00.000000001Z';
  writeFileSync(log, Buffer.concat([Buffer.from(`${time} stdout P price 5`), euro.subarray(0, 1)]));

  const seen: LogLine[] = [];
  const stop = new AbortController();
  const following = followLogs([{ service: 'web', path: log }], (_, line) => seen.push(line), stop.signal, 5);
  await new Promise((resolve) => setTimeout(resolve, 30)); // the follower has read the torn record
  appendFileSync(log, Buffer.concat([euro.subarray(1, 2), Buffer.from('\n'), Buffer.from(`${time} stdout F `), euro.subarray(2), Buffer.from(' ok\n')]));
  for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  stop.abort();
  await following;
  expect(seen.map((l) => l.text)).toEqual(['price 5€ ok']);
});

it('is woken by the append itself, not by a poll (issue 11: no sleep-polling for what the kernel tells)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
  dirs.push(dir);
  const log = join(dir, 'service.log');
  writeFileSync(log, '');
  const seen: string[] = [];
  const stop = new AbortController();
  // A look every 10 s at most: only the folder's watch can bring the line within the second.
  const following = followLogs([{ service: 'web', path: log }], (_, line) => seen.push(line.text), stop.signal, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the follower is napping
  appendFileSync(log, '2026-11-22T16:00:00.000000001Z stdout F woken\n');
  // Looked for during a second (with polls alone it would come after 10 s); seen before the abort.
  for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  const before = [...seen];
  stop.abort();
  await following;
  expect(before).toEqual(['woken']);
});

describe('readLogToFollow hands over to followLogs where it stopped reading (logs -f)', () => {
  const time = '2026-11-22T16:00:00.000000001Z';
  const record = (tag: 'P' | 'F', text: string): string => `${time} stdout ${tag} ${text}\n`;
  /** Follows `log` from `start` until `count` lines came (or 1 s passed), then a few polls more. */
  async function follow(log: string, start: ReturnType<typeof readLogToFollow>['start'], count: number): Promise<string[]> {
    const seen: string[] = [];
    const stop = new AbortController();
    const following = followLogs([{ service: 'web', path: log }], (_, line) => seen.push(line.text), stop.signal, 5, new Map(start ? [[log, start]] : []));
    for (let i = 0; i < 200 && seen.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 30)); // nothing more comes
    stop.abort();
    await following;
    return seen;
  }
  function logIn(): string {
    const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
    dirs.push(dir);
    return join(dir, 'service.log');
  }

  it('tells a line written between the read of the past lines and the following once', async () => {
    const log = logIn();
    writeFileSync(log, record('F', 'one') + record('F', 'two'));
    const { lines, start } = readLogToFollow(log, { tail: 1 });
    expect(lines.map((l) => l.text)).toEqual(['two']);
    appendFileSync(log, record('F', 'three')); // before the following begins
    expect(await follow(log, start, 1)).toEqual(['three']);
  });

  it('leaves a record still being written, and the pieces of a line not ended, to the following', async () => {
    const log = logIn();
    writeFileSync(log, record('F', 'one') + record('P', 'hal') + `${time} stdout F lo`);
    const { lines, start } = readLogToFollow(log);
    expect(lines.map((l) => l.text)).toEqual(['one']);
    appendFileSync(log, ' there\n');
    expect(await follow(log, start, 1)).toEqual(['hallo there']);
  });

  it('reads a rotated log first, and follows the live file from its start when there was none', async () => {
    const log = logIn();
    writeFileSync(`${log}.1`, record('F', 'old'));
    const { lines, start } = readLogToFollow(log);
    expect(lines.map((l) => l.text)).toEqual(['old']);
    expect(start).toBeUndefined();
    writeFileSync(log, record('F', 'new'));
    expect(await follow(log, start, 1)).toEqual(['new']);
  });
});

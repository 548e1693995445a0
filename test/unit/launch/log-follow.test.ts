import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followLog } from '../../../src/executor/log-follow.js';
import type { LogLine } from '../../../src/executor/logs.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (stream: string, tag: 'P' | 'F', text: string) => `2026-11-22T16:00:00.000000000Z ${stream} ${tag} ${text}\n`;

/** Follows `log` until `count` lines came, running `steps` (the monitor's writes) as it goes. */
async function follow(log: string, count: number, steps: (() => void)[], from?: 'start' | 'end' | number): Promise<LogLine[]> {
  const controller = new AbortController();
  const lines: LogLine[] = [];
  const done = (async () => {
    for await (const line of followLog(log, { signal: controller.signal, pollMs: 20, ...(from !== undefined && { from }) })) {
      lines.push(line);
      if (lines.length === count) controller.abort();
    }
  })();
  for (const step of steps) {
    step();
    await new Promise((r) => setTimeout(r, 30)); // let the follower see each step on its own
  }
  const timer = setTimeout(() => controller.abort(), 3_000); // a failing case ends with what it got
  await done;
  clearTimeout(timer);
  return lines;
}

describe('followLog', () => {
  it('yields appended lines, joins pieces and split UTF-8, follows a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
    dirs.push(dir);
    const log = join(dir, 'web.log');
    writeFileSync(log, rec('stdout', 'F', 'old line'));
    const snowman = Buffer.from(rec('stdout', 'F', 'snow ☃ man'));
    const cut = snowman.indexOf(Buffer.from('☃')) + 1; // inside the three bytes of ☃
    const lines = await follow(log, 4, [
      () => appendFileSync(log, rec('stdout', 'P', 'hel') + rec('stderr', 'F', 'warn')),
      () => appendFileSync(log, rec('stdout', 'F', 'lo')),
      () => appendFileSync(log, snowman.subarray(0, cut)),
      () => appendFileSync(log, snowman.subarray(cut)),
      () => {
        renameSync(log, `${log}.1`);
        writeFileSync(log, rec('stderr', 'F', 'after rotation'));
      },
    ], rec('stdout', 'F', 'old line').length);
    expect(lines.map((l) => `${l.stream}:${l.text}`)).toEqual(['stderr:warn', 'stdout:hello', 'stdout:snow ☃ man', 'stderr:after rotation']);
  });

  it('waits for a log that does not exist yet and reads it from its start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
    dirs.push(dir);
    const log = join(dir, 'db.log');
    const lines = await follow(log, 2, [() => writeFileSync(log, rec('stdout', 'F', 'one') + rec('stdout', 'F', 'two'))], 'start');
    expect(lines.map((l) => l.text)).toEqual(['one', 'two']);
  });

  it('starts at a byte offset (the size before a launch)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-follow-'));
    dirs.push(dir);
    const log = join(dir, 'api.log');
    writeFileSync(log, rec('stdout', 'F', 'previous run'));
    const offset = rec('stdout', 'F', 'previous run').length;
    appendFileSync(log, rec('stdout', 'F', 'this run'));
    const lines = await follow(log, 1, [], offset);
    expect(lines.map((l) => l.text)).toEqual(['this run']);
  });
});

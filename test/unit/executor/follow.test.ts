// followLogs joins a line's pieces as bytes: a character split between two P records, or a
// record that arrives in two writes, comes out whole.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { followLogs } from '../../../src/runtime/follow.js';
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

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { joinRecords, logFiles, parseLogRecords, readLogLines } from '../../../src/runtime/logs.js';
import { lineFormatter } from '../../../src/cli/render/log-prefix.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('CRI log records', () => {
  it('joins P pieces to their F line per stream, interleaved streams kept apart', () => {
    const text = [
      '2026-11-22T16:00:00.000000001Z stdout P hel',
      '2026-11-22T16:00:00.000000002Z stderr F warning: x',
      '2026-11-22T16:00:00.000000003Z stdout F lo world',
      '2026-11-22T16:00:00.000000004Z stdout F ',
      '2026-11-22T16:00:00.000000005Z stdout P no newline at the end',
      'torn recor',
      '',
    ].join('\n');
    expect(joinRecords(parseLogRecords(text))).toEqual([
      { time: '2026-11-22T16:00:00.000000002Z', stream: 'stderr', text: 'warning: x', complete: true },
      { time: '2026-11-22T16:00:00.000000001Z', stream: 'stdout', text: 'hello world', complete: true },
      { time: '2026-11-22T16:00:00.000000004Z', stream: 'stdout', text: '', complete: true },
      { time: '2026-11-22T16:00:00.000000005Z', stream: 'stdout', text: 'no newline at the end', complete: false },
    ]);
  });

  it('joins a UTF-8 character that a read split between two records', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-logs-'));
    dirs.push(dir);
    const log = join(dir, 'web.log');
    const snowman = Buffer.from('☃');
    writeFileSync(
      log,
      Buffer.concat([
        Buffer.from('2026-11-22T16:00:00.000000001Z stdout P snow '),
        snowman.subarray(0, 1),
        Buffer.from('\n2026-11-22T16:00:00.000000002Z stdout F '),
        snowman.subarray(1),
        Buffer.from(' man\n'),
      ]),
    );
    expect(readLogLines(log).map((l) => l.text)).toEqual(['snow ☃ man']);
  });

  it('reads rotated files oldest first and tails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-logs-'));
    dirs.push(dir);
    const log = join(dir, 'web.log');
    const rec = (n: number) => `2026-11-22T16:00:0${n}.000000000Z stdout F line ${n}\n`;
    writeFileSync(`${log}.2`, rec(1));
    writeFileSync(`${log}.1`, rec(2));
    writeFileSync(log, rec(3));
    writeFileSync(`${log}.tmp`, rec(9));
    writeFileSync(join(dir, 'web.logx.1'), rec(9));
    expect(logFiles(log)).toEqual([`${log}.2`, `${log}.1`, log]);
    expect(readLogLines(log).map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3']);
    const line = lineFormatter(['web'], { prefix: false, colour: false, timestamps: true });
    expect(readLogLines(log, { tail: 2 }).map((l) => line('web', l))).toEqual([
      '2026-11-22T16:00:02.000000000Z line 2',
      '2026-11-22T16:00:03.000000000Z line 3',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { catchesSignal, parseStartTime, parseStatus } from '../../../src/runtime/proc.js';
import { isEventWait, judgeSignal, signalNumber } from '../../../src/runtime/stop.js';

// A real /proc/PID/stat line whose command name contains spaces and parentheses.
const stat = '4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 4464640 230 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

const status = (nsPid: string, sigCgt: string, sigIgn = '0000000000000000', sigBlk = '0000000000000000', wchan = 'hrtimer_nanosleep') =>
  parseStatus(`Name:\tsleep\nState:\tS (sleeping)\nNSpid:\t${nsPid}\nSigBlk:\t${sigBlk}\nSigIgn:\t${sigIgn}\nSigCgt:\t${sigCgt}\n`, wchan);

describe('/proc parsing', () => {
  it('reads the start time past a command name with spaces and parentheses', () => {
    expect(parseStartTime(stat)).toBe(987654);
  });

  it('reads the namespace pids and signal masks', () => {
    const s = status('31337\t1', '0000000000004002');
    expect(s.nsPids).toEqual([31337, 1]);
    expect(s.state).toBe('S');
    expect(catchesSignal(s, 15)).toBe(true); // bit 14
    expect(catchesSignal(s, 2)).toBe(true); // bit 1
    expect(catchesSignal(s, 1)).toBe(false);
  });
});

describe('whether a main process can act on its stop signal', () => {
  it.each([
    ['pid 1 without a handler (sleep)', status('900\t1', '0'), 'SIGTERM', 'cannot'],
    ['pid 1 with a SIGTERM handler', status('900\t1', '0000000000004000'), 'SIGTERM', 'can'],
    ['pid 1 with a handler for another signal', status('900\t1', '0000000000000002'), 'SIGTERM', 'cannot'],
    ['pid 1 blocking it for a signalfd (catatonit)', status('900\t1', '0', '0', 'fffffffe7ffbfeff'), 'SIGTERM', 'can'],
    ['pid 1 in sigtimedwait, which shows it unblocked (tini)', status('900\t1', '0', '0', '0', 'do_sigtimedwait.isra.0'), 'SIGTERM', 'can'],
    ['node as pid 1 before the stop: its handler', status('900\t1', '0000000100004602', '0000000001001000', '0', 'do_epoll_wait'), 'SIGTERM', 'can'],
    ['node as pid 1 after it reset its handler and re-raised the signal', status('900\t1', '0000000100000602', '0000000001001000', '0', 'do_epoll_wait'), 'SIGTERM', 'cannot'],
    ['stack-init (init: true) in sigwaitinfo', status('900\t1', '0', '0000000000301000', '0', 'do_sigtimedwait.isra.0'), 'SIGTERM', 'can'],
    ['not pid 1, default action', status('900\t7', '0'), 'SIGTERM', 'can'],
    ['not pid 1, ignoring it', status('900\t7', '0', '0000000000004000'), 'SIGTERM', 'cannot'],
    ['pid 1 running: its masks cannot be judged yet', { ...status('900\t1', '0'), state: 'R', wchan: '0' }, 'SIGTERM', 'unknown'],
    ['SIGKILL: nothing to wait for', status('900\t1', 'ffffffffffffffff'), 'SIGKILL', 'cannot'],
  ])('%s', (_what, s, signal, expected) => {
    expect(judgeSignal(s, signalNumber('svc', signal))).toBe(expected);
  });

  it('accepts compose signal spellings and rejects unknown ones', () => {
    expect(signalNumber('svc', 'SIGINT')).toBe(2);
    expect(signalNumber('svc', 'quit')).toBe(3);
    expect(signalNumber('svc', '10')).toBe(10);
    expect(() => signalNumber('svc', 'SIGNOPE')).toThrowError(expect.objectContaining({ code: 'SIGNAL_UNKNOWN' }));
    expect(() => signalNumber('svc', '99')).toThrowError(expect.objectContaining({ code: 'SIGNAL_UNKNOWN' }));
    expect(() => signalNumber('svc', '0')).toThrowError(expect.objectContaining({ code: 'SIGNAL_UNKNOWN' }));
    expect(signalNumber('svc', '64')).toBe(64);
  });
});

describe('whether a process that just started is done starting (asleep waiting for events)', () => {
  it.each([
    ['sleep', 'hrtimer_nanosleep', true],
    ["node's loop", 'do_epoll_wait', true],
    ["bash's wait", 'do_wait', true],
    ["dash's wait (sh -c '… & wait'), as this kernel names it", 'sigsuspend.isra.0', true],
    ['sigsuspend, without a suffix', 'sigsuspend', true],
    ['pause(2)', '__do_sys_pause', true],
    ['a constprop copy', 'do_sys_poll.constprop.0', true],
    ['running', '0', false],
    ['no wait channel', '', false],
    ['reading a file', 'folio_wait_bit_common', false],
    ['a name that only starts like one', 'do_wait_for_something', false],
    ['a suffix that is not a copy', 'sigsuspend.foo', false],
  ])('%s (%s): %s', (_what, wchan, expected) => {
    expect(isEventWait(wchan)).toBe(expected);
  });
});


describe('/proc/PID/status fields', () => {
  it('reads the fields wherever their line is, and only whole keys', () => {
    // State on the first line, no trailing newline, a key (Pid) that ends another (TracerPid).
    const s = parseStatus('State:\tR (running)\nTracerPid:\t77\nNSpid:\t12\t3\nSigCgt:\t0000000000004000');
    expect(s.state).toBe('R');
    expect(s.nsPids).toEqual([12, 3]);
    expect(s.caught).toBe(0x4000n);
    expect(s.blocked).toBe(0n); // no SigBlk line
    // A line whose key ends with a field's key is not that field.
    expect(parseStatus('XSigCgt:\t00ff\nSigCgt:\t4000\n').caught).toBe(0x4000n);
  });

  it("reads this process's own status as the kernel writes it", () => {
    const text = readFileSync('/proc/self/status', 'utf8');
    const s = parseStatus(text);
    expect(s.nsPids.at(-1)).toBe(process.pid);
    expect(['R', 'S']).toContain(s.state);
    const mask = (key: string) => BigInt(`0x${new RegExp(`^${key}:\\s*([0-9a-f]+)$`, 'm').exec(text)![1]}`);
    expect(s.caught).toBe(mask('SigCgt'));
    expect(s.ignored).toBe(mask('SigIgn'));
    expect(s.blocked).toBe(mask('SigBlk'));
  });
});

// idle() (src/cli/main.ts): bin/stack.cjs leaves as soon as a command's main() settled when it
// says nothing is under way, and waits for 'beforeExit' otherwise. Each of its conditions is
// shown in a node of its own, from the build (`npm run build`: dist/).
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const dist = new URL('../../../dist/', import.meta.url).pathname;

describe('idle', () => {
  test('is false while a ref\'d timer, another beforeExit listener, an asynchronous koffi call (which Node lists nowhere) or output a pipe has not taken is under way, and not for an idle stdio stream\'s handle', () => {
    const script = `
      const { idle } = await import(${JSON.stringify(dist + 'cli/main.js')});
      const { callAsync, loadKoffi } = await import(${JSON.stringify(dist + 'sys/koffi.js')});
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      const seen = [];
      await turn();
      seen.push(['nothing', idle()]);
      const timer = setTimeout(() => {}, 10_000);
      seen.push(['a timer', idle()]);
      clearTimeout(timer);
      seen.push(['the timer cleared', idle()]);
      // bin/stack.cjs's own listener, then another (ink's, say).
      process.once('beforeExit', () => {});
      seen.push(['one listener', idle()]);
      process.once('beforeExit', () => {});
      seen.push(['two listeners', idle()]);
      process.removeAllListeners('beforeExit');
      // poll(2) of no descriptor for 300 ms: a job on one of libuv's threads.
      const poll = loadKoffi().load('libc.so.6').func('int poll(void *fds, unsigned long nfds, int timeout)');
      const done = new Promise((resolve) => callAsync((settle) => poll.async(null, 0, 300, settle), resolve));
      await turn();
      seen.push(['a koffi call', idle(), process.getActiveResourcesInfo()]);
      await done;
      seen.push(['the call done', idle()]);
      // stderr and stdout are pipes here: their streams' handles are listed while idle.
      process.stderr.write('');
      seen.push(['stderr made', idle(), process.getActiveResourcesInfo()]);
      process.stdout.write(Buffer.alloc(256 * 1024, 0x20)); // more than a pipe holds: the rest queued
      seen.push(['output queued', idle()]);
      await new Promise((resolve) => process.stdout.write('', resolve));
      await turn();
      seen.push(['output taken', idle()]);
      console.log(JSON.stringify(seen));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 8 * 1024 * 1024 }).trim();
    expect(JSON.parse(out)).toEqual([
      ['nothing', true],
      ['a timer', false],
      ['the timer cleared', true],
      ['one listener', true],
      ['two listeners', false],
      ['a koffi call', false, []],
      ['the call done', true],
      ['stderr made', true, ['PipeWrap']],
      ['output queued', false],
      ['output taken', true],
    ]);
  });
});

// The service's output lands in its log files through the monitor: per-line timestamps and
// streams, a size bound with rotation, and nothing lost when the Node process that launched
// it is SIGKILLed mid-output. Real kernel, root.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LaunchedService } from '../../../src/runtime/launch.js';
import { followLogs } from '../../../src/runtime/follow.js';
import { logFiles, readLogLines } from '../../../src/runtime/logs.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, waitForExit } from './harness.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/launch/${name}`, import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

describeRoot('launch: logs', () => {
  const rig = new LaunchRig();
  beforeAll(buildLauncher);
  afterAll(() => rig.cleanup());

  it('records each line with its stream and time; a last line without newline stays a piece', async () => {
    const before = new Date().toISOString();
    const { started } = await rig.run(testService({ command: ['sh', '-c', 'echo out; echo err >&2; printf "tail"'] }));
    const lines = readLogLines(started.logPath);
    expect(lines.map(({ stream, text, complete }) => ({ stream, text, complete })).sort((a, b) => a.text.localeCompare(b.text))).toEqual([
      { stream: 'stderr', text: 'err', complete: true },
      { stream: 'stdout', text: 'out', complete: true },
      { stream: 'stdout', text: 'tail', complete: false },
    ]);
    for (const l of lines) expect(l.time >= before.slice(0, 19)).toBe(true);
    expect(readFileSync(started.logPath, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out$/m);
  });

  it('gives back a UTF-8 character the service wrote in two halves, whole', async () => {
    const { lines } = await rig.run(testService({ command: ['sh', '-c', "printf 'snow \\342'; sleep 0.1; printf '\\230\\203 man\\n'"] }));
    expect(lines).toEqual(['snow ☃ man']);
  });

  it('keeps at most maxFiles files of maxBytes each, the newest lines complete and in order', async () => {
    const logRotation = { maxBytes: 64 * 1024, maxFiles: 3 };
    const { started, record } = await rig.run(testService({ command: ['seq', '1', '50000'] }), { logRotation });
    expect(record.exitCode).toBe(0);
    const files = logFiles(started.logPath);
    expect(files.map((f) => f.slice(started.logPath.length))).toEqual(['.2', '.1', '']);
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(logRotation.maxBytes);
    const numbers = readLogLines(started.logPath).map((l) => Number(l.text));
    expect(numbers.at(-1)).toBe(50000);
    expect(numbers.length).toBeGreaterThan(3000); // ~2 full files of ~50-byte records survive
    expect(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] as number) + 1)).toBe(true);
  });

  it('can be followed live across rotations (followLogs, as `stack up` does), every line once and in order', async () => {
    const paths = rig.paths('followed');
    const controller = new AbortController();
    const seen: string[] = [];
    const following = followLogs([{ service: 'followed', path: paths.logPath }], (_service, line) => {
      seen.push(line.text);
      if (seen.length === 300) controller.abort();
    }, controller.signal, 20);
    const started = await rig.start(testService({ command: ['sh', fixture('count.sh'), '300'] }), { ...paths, logRotation: { maxBytes: 4096, maxFiles: 2 } });
    await waitForExit(started.exitPath);
    setTimeout(() => controller.abort(), 2_000).unref();
    await following;
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    expect(readLogLines(started.logPath).length).toBeLessThan(300); // the files alone no longer hold them all
  });

  it('keeps logging every line after the launching Node process is SIGKILLed mid-output', async () => {
    const paths = rig.paths('orphan');
    const group = await rig.group('orphan');
    const options = { service: testService({ command: ['sh', fixture('count.sh'), '300'] }), cgroup: group, netns: 'new', ...paths };
    const node = spawn(`${repo}/node_modules/.bin/vite-node`, [fixture('launch-and-hang.ts')], {
      cwd: repo,
      env: { ...process.env, LAUNCH_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let launched: LaunchedService | undefined;
    try {
      let out = '';
      for await (const chunk of node.stdout) {
        out += String(chunk);
        if (out.includes('\n')) break;
      }
      launched = JSON.parse(out) as LaunchedService;
      // Mid-output: some lines are logged, many are still to come.
      while (readLogLines(paths.logPath).length < 20) await new Promise((r) => setTimeout(r, 5));
    } finally {
      node.kill('SIGKILL');
    }
    const killedAt = new Date().toISOString();
    await new Promise((r) => node.once('exit', r));
    expect(readLogLines(paths.logPath).length).toBeLessThan(300);
    expect(isSameProcess(launched.pid, launched.startTime)).toBe(true);
    const record = await waitForExit(paths.exitPath);
    expect(record).toMatchObject({ exitCode: 0, pid: launched.pid });
    const lines = readLogLines(paths.logPath);
    expect(lines.map((l) => l.text)).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    expect((lines.at(-1) as { time: string }).time > killedAt).toBe(true);
  });
});

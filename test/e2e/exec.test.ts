// `stack exec` through the real CLI (bin/stack.cjs over dist/: `npm run build` first): the
// command's output, exit code, user, folder and environment; options stop at the service;
// errors name the service; -d outlives stack; and, driven by util-linux `script` (a real
// terminal around stack), the command gets a pseudo-terminal of the service: `tty` names it,
// `stty size` follows a resize, ^C interrupts the command and not stack.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';
import { netnsName, nftTableName } from '../../src/names.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));


/** `s` as one word for sh. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Processes whose command line contains `marker`. */
function processesWith(marker: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(marker) ? [`${p} ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

describeWith({ root: true, commands: ['script', 'stty', 'unshare'] }, 'stack exec', () => {
  const project = `ex${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-exec-'));
  const spec = join(dir, 'stack.yaml');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const cli = [bin, '-p', project, '-f', spec];
  const stack = (...args: string[]) => execa(process.execPath, [...cli, ...args], { env, reject: false });
  /** The stack command line as sh words, for `script -c`. */
  const stackLine = (...args: string[]): string => [process.execPath, ...cli, ...args].map(q).join(' ');
  const scripts: ReturnType<typeof spawn>[] = [];
  /** The detached command's `sleep` argument, unique to this run. */
  const marker = `1000.${randomBytes(3).readUIntBE(0, 3)}`;

  /** `command` run by sh on a terminal of util-linux `script`, its input written by the test. */
  function underScript(command: string) {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    scripts.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const output = (): string => out.replace(/\r/g, '');
    return {
      output,
      write: (text: string) => child.stdin!.write(text),
      waitFor: (pattern: RegExp) => eventually(`${pattern} in the terminal (got ${JSON.stringify(output())})`, () => pattern.exec(output()) ?? undefined),
      exited: async () => {
        const code = await exited;
        child.stdin!.end();
        return code;
      },
    };
  }

  beforeAll(async () => {
    writeFileSync(
      spec,
      [
        'services:',
        '  web:',
        '    command: sleep infinity',
        '    environment:',
        '      GREETING: hello',
        '  once:',
        '    command: "true"',
        '',
      ].join('\n'),
    );
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
  });
  afterAll(async () => {
    for (const s of scripts) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    await execa(process.execPath, [bin, '-p', project, 'down', '-v', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes the command's output and exit code, with the service's environment and -e", async () => {
    const r = await stack('exec', '-e', 'X=42', 'web', 'sh', '-c', 'echo $GREETING $X; echo err >&2; exit 3');
    expect(r.stdout).toBe('hello 42');
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(3);
  });

  it('stops parsing options at the service: `exec web ls -la /` passes -la to ls', async () => {
    const r = await stack('exec', 'web', 'ls', '-la', '/');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toMatch(/^total \d+$/m);
    expect(r.stdout).toMatch(/^d\S+ .* \.\.$/m);
    const e = await stack('exec', 'web', 'sh', '-c', 'echo "$0 $1"', '-e', 'X=1');
    expect(e.stdout).toBe('-e X=1');
  });

  it('runs as -u USER, in -w DIR, with every capability under --privileged, and reads stdin (no terminal: no pty)', async () => {
    expect((await stack('exec', '-u', 'nobody', 'web', 'id', '-u')).stdout).toBe('65534');
    expect((await stack('exec', '-w', '/tmp', 'web', 'pwd')).stdout).toBe('/tmp');
    // --privileged: every capability (CAP_SYS_ADMIN, bit 21, is not in the service's set).
    const capEff = async (...flags: string[]) =>
      BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec((await stack('exec', ...flags, 'web', 'cat', '/proc/self/status')).stdout)![1]}`);
    expect((await capEff()) & (1n << 21n)).toBe(0n);
    expect((await capEff('--privileged')) & (1n << 21n)).toBe(1n << 21n);
    const cat = await execa(process.execPath, [...cli, 'exec', 'web', 'sh', '-c', 'cat; tty || true'], { env, input: 'piped\n', reject: false });
    expect(cat.stdout).toBe('piped\nnot a tty');
  });

  it("keeps the service's seccomp filter, under --privileged too: a new user namespace is refused (EPERM) that the host allows", async () => {
    expect((await execa('unshare', ['-U', 'true'], { reject: false })).exitCode).toBe(0); // the host makes one
    for (const flags of [[], ['--privileged']]) {
      const r = await stack('exec', ...flags, 'web', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; unshare -U true');
      expect(r.stdout, String(r.stderr)).toBe('Seccomp:\t2');
      expect(r.stderr).toMatch(/unshare failed: Operation not permitted/);
      expect(r.exitCode).not.toBe(0);
    }
  });

  it('-d returns once the command runs, which keeps running in the service', async () => {
    const d = await stack('exec', '-d', 'web', 'sh', '-c', `echo started > /tmp/detached; exec sleep ${marker}`);
    expect(d.exitCode, String(d.stderr)).toBe(0);
    expect(d.stdout).toBe('');
    const seen = await eventually('the detached command in the service', async () => {
      const r = await stack('exec', 'web', 'cat', '/tmp/detached');
      return r.stdout === 'started' ? r.stdout : undefined;
    });
    expect(seen).toBe('started');
    expect(processesWith(`sleep ${marker}`)).toHaveLength(1);
  });

  it('names the service in its errors: unknown (with a suggestion), not running, program not found; exit 1', async () => {
    const unknown = await stack('exec', 'wbe', 'true');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no service "wbe"');
    expect(unknown.stderr).toContain('did you mean web?');
    const stopped = await eventually('`once` to have exited', async () => {
      const r = await stack('exec', 'once', 'true');
      return r.exitCode === 1 ? r : undefined;
    });
    expect(stopped.stderr).toContain('service "once" of project');
    expect(stopped.stderr).toContain('is not running');
    expect(stopped.stderr).toContain('start it with `stack up once`');
    const missing = await stack('exec', 'web', 'no-such-program-stk');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('exec in service "web": program "no-such-program-stk" not found');
    const index = await stack('exec', '--index', '2', 'web', 'true');
    expect(index.exitCode).toBe(1);
    expect(index.stderr).toContain('service "web" has no replica #2: it runs 1 (--index 1)');
    expect(unknown.stderr + stopped.stderr + missing.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("gives the command a pseudo-terminal of the service's own devpts, owned by its user", async () => {
    const t = underScript(
      `${stackLine('exec', 'web', 'sh', '-c', 'tty; echo /dev/pts/*')}; ${stackLine('exec', '-u', 'nobody', 'web', 'sh', '-c', 'stat -c "%U %t" $(tty)')}`,
    );
    expect(await t.exited()).toBe(0);
    const [tty, ptys, owner] = t.output().trim().split('\n');
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    // The service's devpts holds that pty alone (the host's, where `script` made its own, is another instance).
    expect(ptys).toBe(`${tty} /dev/pts/ptmx`);
    expect(owner).toBe('nobody 88'); // a pty slave (major 136 = 0x88), its owner the command's user
    // With -T, no pty is made even on a terminal: the command gets stack's own fds.
    const plain = underScript(stackLine('exec', '-T', 'web', 'sh', '-c', 'echo /dev/pts/*'));
    expect(await plain.exited()).toBe(0);
    expect(plain.output().trim()).toBe('/dev/pts/ptmx');
  });

  it("`stty size` follows the user's terminal, and a resize", async () => {
    const t = underScript(`tty; stty rows 30 cols 100; ${stackLine('exec', 'web', 'sh', '-c', 'stty size; read x; stty size')}; echo "stack exited $?"`);
    const [outer] = await t.waitFor(/^\/dev\/pts\/\d+$/m);
    await t.waitFor(/^30 100$/m);
    await execa('stty', ['-F', outer, 'rows', '40', 'cols', '120']);
    t.write('\n');
    await t.waitFor(/^40 120$/m);
    await t.waitFor(/stack exited 0/);
    expect(await t.exited()).toBe(0);
  });

  it('^C interrupts the command, not stack: stack exits with the command\'s status', async () => {
    const killed = underScript(`${stackLine('exec', 'web', 'sh', '-c', 'echo ready; exec sleep 100')}; echo "stack exited $?"`);
    await killed.waitFor(/ready/);
    killed.write('\x03');
    await killed.waitFor(/stack exited 130/);
    expect(await killed.exited()).toBe(0);

    // The command catches SIGINT and exits 7: stack, which got no SIGINT, exits 7 too.
    const trapped = underScript(`${stackLine('exec', 'web', 'sh', '-c', 'trap "echo got INT; exit 7" INT; echo ready; sleep 100')}; echo "stack exited $?"`);
    await trapped.waitFor(/ready/);
    trapped.write('\x03');
    await trapped.waitFor(/got INT/);
    await trapped.waitFor(/stack exited 7/);
    expect(await trapped.exited()).toBe(0);
  });

  it("a /dev/ptmx the service replaced is refused with a clear error, never opened", async () => {
    // The service's /dev is its own: root in it replaces ptmx by a FIFO (opening one would block).
    const planted = await stack('exec', '-T', 'web', 'sh', '-c', 'rm /dev/ptmx && mkfifo /dev/ptmx');
    expect(planted.exitCode, planted.stderr).toBe(0);
    try {
      const t = underScript(`${stackLine('exec', 'web', 'tty')}; echo "stack exited $?"`);
      await t.exited();
      expect(t.output()).toMatch(/no pseudo-terminal: the service's \/dev\/ptmx is not its devpts ptmx/);
      expect(t.output()).toMatch(/stack exited 1/);
      expect(t.output()).not.toMatch(/\n\s+at /);
    } finally {
      await stack('exec', '-T', 'web', 'sh', '-c', 'rm -f /dev/ptmx && ln -s pts/ptmx /dev/ptmx');
    }
  });

  it('down leaves nothing, the detached command included', async () => {
    const down = await stack('down', '--timeout', '0', '--progress', 'plain');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    const left = inventory().filter((o) => o.includes(netnsName(project, '')) || o.includes(`stack/${project}`) || o.endsWith(nftTableName(project)));
    expect(left).toEqual([]);
    expect(existsSync(join(dir, 'state', 'run', project))).toBe(false);
    await eventually('the detached command to be gone', () => (processesWith(`sleep ${marker}`).length === 0 ? true : undefined), 10_000);
    const after = await stack('exec', 'web', 'true');
    expect(after.exitCode).toBe(1);
    expect(after.stderr).toContain('service "web"');
  });
});

// `tty` and `stdin_open` through the real CLI (bin/stack.cjs over dist/: `npm run build` first) and
// the real kernel, as `docker compose up` gives them: with `tty: true` the service's stdin, stdout
// and stderr are a terminal (`test -t`), its output is logged without \r, and a shell reading stdin
// waits instead of ending; `stdin_open: true` alone keeps stdin open (a pipe), not a terminal;
// without either, stdin is /dev/null and a `read` ends at once. `down` leaves nothing.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh'] }, 'tty and stdin_open', () => {
  const project = `kt${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-tty-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, ...args], { env, cwd: dir, reject: false });
  const probe = (name: string) =>
    // test -t outside any $(...): in a command substitution fd 1 is its pipe. $$: compose's escape of $.
    `i=no; o=no; e=no; test -t 0 && i=tty; test -t 1 && o=tty; test -t 2 && e=tty; echo ${name}: in=$$i out=$$o err=$$e; read line; echo ${name}: read ended`;

  afterAll(async () => {
    await stack('down', '-t', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('tty: a terminal on 0-2 and a read that waits; stdin_open: an open pipe; neither: /dev/null', async () => {
    writeFileSync(
      join(dir, 'compose.yaml'),
      [
        'services:',
        '  term:',
        `    command: ["sh", "-c", "${probe('term')}"]`,
        '    tty: true',
        '  open:',
        `    command: ["sh", "-c", "${probe('open')}"]`,
        '    stdin_open: true',
        '  plain:',
        `    command: ["sh", "-c", "${probe('plain')}"]`,
        '',
      ].join('\n'),
    );
    const config = await stack('config');
    expect(config.stdout).toMatch(/term:[\s\S]*tty: true/);
    expect(config.stdout).toMatch(/open:[\s\S]*stdin_open: true/);
    const up = await stack('up', '-d');
    expect(up.exitCode, up.stderr).toBe(0);
    const logs = await eventually('the three probes', async () => {
      const out = (await stack('logs', '--no-color')).stdout;
      return out.includes('plain: read ended') && out.includes('term: in=') && out.includes('open: in=') ? out : undefined;
    });
    expect(logs).toMatch(/term: in=tty out=tty err=tty$/m); // no \r: ONLCR is off
    expect(logs).toMatch(/open: in=no out=no err=no$/m);
    expect(logs).toMatch(/plain: in=no out=no err=no$/m);
    // /dev/null ends a read at once; the terminal and the open pipe keep it waiting.
    await new Promise((r) => setTimeout(r, 500));
    const later = (await stack('logs', '--no-color')).stdout;
    expect(later).not.toContain('term: read ended');
    expect(later).not.toContain('open: read ended');
    const ps = (await stack('ps', '--format', 'json')).stdout;
    const states = Object.fromEntries((JSON.parse(ps) as { service: string; state: string }[]).map((r) => [r.service, r.state]));
    expect(states).toMatchObject({ term: 'running', open: 'running' });
    const down = await stack('down', '-t', '0');
    expect(down.exitCode, down.stderr).toBe(0);
  });
});

// Published ports through `stack up`: a host port held by another program is refused before
// anything is made; two projects each run a service on the same port (5432) at the same time;
// a re-run of `up` keeps the ports its own supervisor serves.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { rigPerTest } from './rig.js';

const rig = rigPerTest();

/** A TCP server on 127.0.0.1 at a free port, held until closed. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A free port on 127.0.0.1 (bound and released). */
async function freePort(): Promise<number> {
  const held = await holdPort();
  await held.close();
  return held.port;
}

/** The first line a TCP server at 127.0.0.1:port sends, retried while it is not yet listening. */
async function greeting(port: number, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('end', () => (text ? resolve(text.trim()) : reject(new Error('empty answer'))));
        socket.on('error', reject);
      });
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A service that answers every connection on port 5432 with `text`. */
const server = (text: string, hostPort: number) => `  db:
    command: ["node", "-e", "require('net').createServer(s => s.end('${text}\\\\n')).listen(5432, '0.0.0.0'); process.on('SIGTERM', () => process.exit(0))"]
    ports: ["${hostPort}:5432"]
`;

describeRoot('stack up: published ports', () => {
  it('refuses a host port another program holds, naming port and service, before making anything', async () => {
    const held = await holdPort();
    try {
      const r = rig();
      r.spec(server('x', held.port));
      const result = await r.stack(['up', '-d', '--progress', 'plain']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`127.0.0.1:${held.port}/tcp`);
      expect(result.stderr).toMatch(/\bdb\b/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(r.leftovers(['db'])).toEqual([]);
    } finally {
      await held.close();
    }
  });

  it('runs two projects that each listen on 5432 at once, each reached through its own published port', async () => {
    const [one, two] = [rig(), rig()];
    const [p1, p2] = [await freePort(), await freePort()];
    one.spec(server('one', p1));
    two.spec(server('two', p2));
    await one.ok(['up', '-d', '--progress', 'plain']);
    await two.ok(['up', '-d', '--progress', 'plain']);
    expect(await greeting(p1)).toBe('one');
    expect(await greeting(p2)).toBe('two');

    // A re-run keeps the port its own supervisor serves: no PORT_IN_USE against itself.
    const again = await one.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('nothing to do');
    expect(await greeting(p1)).toBe('one');
  });
});

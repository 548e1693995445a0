// The control socket's client (protocol.ts send, system calls on a descriptor of its own) against
// the supervisor's own server (serve) and against sockets that misbehave: no listener, one that
// never answers, one that answers garbage, one whose queue is full. Real Unix sockets.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { send, serve, sockaddrUnix, type Request } from '../../../src/supervisor/protocol.js';
import { AF_UNIX, bind, close, connectNow, listen, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, socket } from '../../../src/sys/libc.js';
import { sinceStart } from '../../../src/sys/builtin.js';

describe('supervisor protocol: the client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-protocol-'));
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  /** A raw server on `path` doing `onSocket` with each connection. */
  const raw = async (path: string, onSocket: (socket: net.Socket) => void, backlog?: number): Promise<net.Server> => {
    const server = net.createServer((socket) => {
      sockets.push(socket);
      onSocket(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ path, ...(backlog !== undefined && { backlog }) }, resolve));
    return server;
  };

  it('sends one request line and returns the reply the server ends with, on a path and an abstract name', async () => {
    const seen: Request[] = [];
    const handle = async (request: Request) => (seen.push(request), { ok: true as const });
    const path = join(dir, 'control.sock');
    servers.push(await serve(path, handle));
    expect(await send(path, { command: 'ping' })).toEqual({ ok: true });
    // An abstract name, bound as a supervisor's activation binds it (the exact name, no padding) and served from that descriptor.
    const abstract = `\0stack-protocol-test-${process.pid}`;
    const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind(fd, sockaddrUnix(abstract));
    listen(fd, 8);
    servers.push(await serve(abstract, handle, fd));
    expect(await send(abstract, { command: 'ping' })).toEqual({ ok: true });
    // A reply larger than one read, in pieces.
    const big = join(dir, 'big.sock');
    const status = { project: 'p', pid: 1, since: 'now', dns: [], services: Array.from({ length: 2000 }, (_, i) => ({ name: `s${i}`, state: 'running' as const, pid: i, health: null, restarts: 0, ports: [] })) };
    await raw(big, (socket) => {
      socket.once('data', () => {
        const text = `${JSON.stringify({ ok: true, status })}\n`;
        const half = Math.floor(text.length / 2);
        socket.write(text.slice(0, half));
        setTimeout(() => socket.end(text.slice(half)), 20);
      });
    });
    const reply = await send(big, { command: 'status' });
    expect(reply.ok && reply.status?.services.length).toBe(2000);
    expect(seen).toEqual([{ command: 'ping' }, { command: 'ping' }]);
  });

  it('rejects when no one listens: no socket file, or a file no one serves', async () => {
    await expect(send(join(dir, 'absent.sock'), { command: 'ping' })).rejects.toThrow(/ENOENT/);
    // A socket file whose socket was bound and never listened, then closed: what a dead server leaves.
    const stale = join(dir, 'stale.sock');
    const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind(fd, sockaddrUnix(stale));
    close(fd);
    await expect(send(stale, { command: 'ping' })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('gives up after its timeout on a server that never answers, and says so', async () => {
    const silent = join(dir, 'silent.sock');
    await raw(silent, () => undefined);
    const t0 = sinceStart();
    await expect(send(silent, { command: 'ping' }, 300)).rejects.toThrow(`no answer from ${silent} within 300 ms`);
    expect(sinceStart() - t0).toBeGreaterThanOrEqual(290);
  });

  it('holds none of libuv\'s threads while it waits, and its timeout holds when none is free', async () => {
    // Four exchanges with a silent server wait at once: a stat queued behind them on
    // libuv's pool (4 threads) gets a thread within a slice (100 ms), not after their timeouts.
    const silent = join(dir, 'silent-pool.sock');
    await raw(silent, () => undefined);
    const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const waits = Array.from({ length: size }, () => send(silent, { command: 'ping' }, 3000).catch((e: Error) => e));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t0 = sinceStart();
    await stat(dir); // a job of the pool
    expect(sinceStart() - t0).toBeLessThan(1000);
    for (const w of await Promise.all(waits)) expect(String(w)).toContain('no answer');
    // Every thread of the pool held by something else (an open of a FIFO no one writes blocks
    // its thread): the exchange still ends at its time.
    const fifos = Array.from({ length: size }, (_, i) => join(dir, `fifo-${i}`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const blocked = fifos.map((f) => open(f, 'r'));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const t1 = sinceStart();
      await expect(send(silent, { command: 'ping' }, 300)).rejects.toThrow('no answer');
      expect(sinceStart() - t1).toBeLessThan(1000);
    } finally {
      for (const f of fifos) closeSync(openSync(f, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)); // a writer: each blocked open returns
      for (const handle of await Promise.all(blocked)) await handle.close();
    }
  });

  it('asks again while the listener\'s queue is full, until its timeout', async () => {
    const full = join(dir, 'full.sock');
    const listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind(listener, sockaddrUnix(full));
    listen(listener, 0); // accepts nothing: the queue fills
    const queued: number[] = [];
    try {
      for (;;) {
        const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        queued.push(fd);
        if (!connectNow(fd, sockaddrUnix(full), () => 'connect')) break;
        expect(queued.length).toBeLessThan(16);
      }
      await expect(send(full, { command: 'ping' }, 200)).rejects.toThrow(`no answer from ${full} within 200 ms`);
    } finally {
      for (const fd of [...queued, listener]) close(fd);
    }
  });

  it('is answered once a full queue drains: its connect is made again meanwhile', async () => {
    const draining = join(dir, 'draining.sock');
    const listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind(listener, sockaddrUnix(draining));
    listen(listener, 0);
    const queued: number[] = [];
    let server: net.Server | undefined;
    try {
      for (;;) {
        const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        queued.push(fd);
        if (!connectNow(fd, sockaddrUnix(draining), () => 'connect')) break;
      }
      const answer = send(draining, { command: 'ping' }, 5000);
      // 150 ms on, the listener is served: every connection queued is taken, then the retried one.
      await new Promise((resolve) => setTimeout(resolve, 150));
      server = await serve(draining, async () => ({ ok: true }), listener);
      const t0 = sinceStart();
      expect(await answer).toEqual({ ok: true });
      expect(sinceStart() - t0).toBeLessThan(1000);
    } finally {
      for (const fd of queued) close(fd);
      if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
      else close(listener);
    }
  });

  it('rejects an answer that is not JSON, naming it', async () => {
    const garbled = join(dir, 'garbled.sock');
    await raw(garbled, (socket) => socket.once('data', () => socket.end('not json at all\n')));
    await expect(send(garbled, { command: 'ping' })).rejects.toThrow('garbled answer from');
  });
});

// The control socket's protocol: one JSON request per connection, one JSON line back.
// `status` reports every service (pid, health, restarts, ports), `reload` rereads the records
// and the snapshot now, `stop` shuts the supervisor down (services keep running), `ping` only
// answers.
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { netModule, sinceStart } from '../sys/builtin.js';
import { AF_UNIX, close, connectNow, POLLIN, POLLOUT, pollOneOffThread, readSome, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, socket, writeSome } from '../sys/libc.js';
import { isAbstract } from './paths.js';
import type { HealthStatus } from './health.js';

/** What a client asks. */
export type Request =
  | { readonly command: 'status' }
  /** Answered at once, whatever the supervisor is doing: whether it serves at all. */
  | { readonly command: 'ping' }
  /** `soon`: answered at once, the reread done right after (a restart changes no port or name). */
  | { readonly command: 'reload'; readonly soon?: boolean }
  | { readonly command: 'stop' };

/** One published port as the supervisor serves it. */
export interface PortStatus {
  /** `127.0.0.1:8080/tcp`, as written in the spec (port 0 for "any"). */
  readonly published: string;
  readonly target: string;
  /** The port it listens on, when it does. */
  readonly boundPort?: number;
  /** Why it does not listen (PORT_IN_USE...), when it does not. */
  readonly error?: string;
}

/** What the supervisor knows of one service. */
export interface ServiceStatus {
  readonly name: string;
  /** `running`, `restarting` (an exit the policy restarts), `exited`, `stopped` (by the user or never started). */
  readonly state: 'running' | 'restarting' | 'exited' | 'stopped';
  readonly pid: number | null;
  /** null when the service has no healthcheck. */
  readonly health: HealthStatus | null;
  /** Output of the last probe, when there was one. */
  readonly healthOutput?: string;
  /** Restarts the supervisor made since the service was last started by `up`. */
  readonly restarts: number;
  /** How the last process ended (`exited with code 1`), when it did. */
  readonly lastExit?: string;
  readonly ports: readonly PortStatus[];
}

/** The answer to `status`. */
export interface SupervisorStatus {
  readonly project: string;
  readonly pid: number;
  /** RFC 3339 time the supervisor started. */
  readonly since: string;
  readonly services: readonly ServiceStatus[];
  /** Gateways the DNS forwarder listens on. */
  readonly dns: readonly string[];
}

/**
 * The status as the supervisor publishes it (SupervisorPaths.status), with what tells which
 * supervisor wrote it: the pid and the start time (clock ticks since boot) of its process.
 */
export interface PublishedStatus extends SupervisorStatus {
  readonly startTime: number;
}

/** A reply line. */
export type Reply = { readonly ok: true; readonly status?: SupervisorStatus } | { readonly ok: false; readonly error: string };

/** struct sockaddr_un of a path, or of an abstract name (a leading NUL). */
export function sockaddrUnix(path: string): Buffer {
  const name = Buffer.from(path);
  const addr = Buffer.alloc(2 + name.length + (isAbstract(path) ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

/**
 * Sends one request to the socket at `path` and resolves with the reply; rejects when nobody
 * answers. Made with system calls on a descriptor of its own, not node:net: a CLI that loads
 * node:net for this one exchange (with node:stream under it) spent ~9 ms compiling them, in a
 * no-op `up` of ~160 (a CPU profile), as long as the round trip's other steps together. The
 * waits for the socket are polls on libuv's threads (libc.ts pollOneOffThread: slices of at most
 * 100 ms, a timer besides), a listener whose queue is full is asked again every 10 ms, and the
 * whole exchange ends by `timeoutMs`.
 */
export async function send(path: string, request: Request, timeoutMs = 3000): Promise<Reply> {
  const deadline = sinceStart() + timeoutMs;
  const left = (): number => Math.max(0, deadline - sinceStart());
  const noAnswer = (): Error => new Error(`no answer from ${path} within ${timeoutMs} ms`);
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  try {
    const addr = sockaddrUnix(path);
    // A full queue (a supervisor that accepts nothing) is asked again, every 10 ms, until the time is up.
    while (!connectNow(fd, addr, () => `connect(${path})`)) {
      if (left() <= 0) throw noAnswer();
      await sleep(Math.min(10, left()));
    }
    const line = Buffer.from(`${JSON.stringify(request)}\n`);
    for (let sent = 0; sent < line.length; ) {
      const n = writeSome(fd, line.subarray(sent), () => `write(${path})`);
      if (n !== undefined) sent += n;
      // Room, or an error or a hang-up that the next write then says (EPIPE): made again either way.
      else if ((await pollOneOffThread(fd, POLLOUT, left())) === 0) throw noAnswer();
    }
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSome(fd, buf, () => `read(${path})`);
      if (n === 0) break;
      if (n !== undefined) chunks.push(Buffer.from(buf.subarray(0, n)));
      else if ((await pollOneOffThread(fd, POLLIN, left())) === 0) throw noAnswer();
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text) as Reply;
    } catch {
      throw new Error(`garbled answer from ${path}: ${JSON.stringify(text.slice(0, 200))}`);
    }
  } finally {
    close(fd);
  }
}

/**
 * Serves requests on `path`, or on `fd` when given (a socket already listening there: a
 * supervisor's activation); `handle` answers each one.
 */
export function serve(path: string, handle: (request: Request) => Promise<Reply>, fd?: number): Promise<net.Server> {
  const server = netModule().createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (d: string) => {
      text += d;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      let request: Request;
      try {
        request = JSON.parse(text.slice(0, newline)) as Request;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: 'not JSON' })}\n`);
        return;
      }
      handle(request).then(
        (reply) => socket.end(`${JSON.stringify(reply)}\n`),
        (e: unknown) => socket.end(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(fd === undefined ? { path } : { fd }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

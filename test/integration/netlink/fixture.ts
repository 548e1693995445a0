// Scratch namespaces and links for netlink tests: unique names under the leak check's prefixes
// (`stk-t…` netns, `stkt…` links), all removed after each test, handles closed first so no
// socket keeps a deleted namespace alive.
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { linkDel, netnsAdd, netnsDelete, openHandle, type Handle } from '../../../src/network/index.js';

/** A short random suffix for names that must not collide with a parallel test run. */
export function uniq(): string {
  return randomBytes(3).toString('hex');
}

/** Everything one test made, so that `cleanup` can remove it in the right order. */
export class Scratch {
  private readonly netnses: string[] = [];
  private readonly hostLinks: string[] = [];
  private readonly handles: Handle[] = [];
  private readonly children: ChildProcess[] = [];

  /** Creates a fresh named netns `stk-t<tag><random>`. */
  netns(tag: string): string {
    const name = `stk-t${tag}${uniq()}`;
    netnsAdd(name);
    this.netnses.push(name);
    return name;
  }

  /** Deletes a netns made by the code under test after the test too (deleting what is gone is fine). */
  adopt(netns: string): void {
    this.netnses.push(netns);
  }

  /** A unique host-side link name `stkt<tag><random>` (at most 15 bytes), removed after the test. */
  hostLink(tag: string): string {
    const name = `stkt${tag}${uniq()}`.slice(0, 15);
    this.hostLinks.push(name);
    return name;
  }

  /** A handle in `netns` (or in the test's own namespace), closed after the test. */
  handle(netns?: string): Handle {
    const h = openHandle(netns);
    this.handles.push(h);
    return h;
  }

  /** Starts `node -e script` inside a named netns; it is killed after the test. */
  node(netns: string, script: string): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    return child;
  }

  /** Removes links, then namespaces; every failure is reported together. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = (fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        errors.push(e);
      }
    };
    for (const c of this.children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    }
    for (const h of this.handles.splice(0)) attempt(() => h.close());
    if (this.hostLinks.length) {
      const host = openHandle();
      try {
        for (const l of this.hostLinks.splice(0)) attempt(() => linkDel(host, l));
      } finally {
        host.close();
      }
    }
    for (const n of this.netnses.splice(0)) attempt(() => netnsDelete(n));
    if (errors.length) throw new AggregateError(errors, 'netlink test cleanup failed');
  }
}

/** Waits for a child to print a line containing `ready`, or fails with what it said. */
export async function ready(child: ChildProcess): Promise<void> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before it was ready: ${out}`)));
  });
}

/** A TCP echo server on `host:port` in the netns, for reachability checks. */
export const echoServer = (host: string, port: number): string =>
  `require('net').createServer((s) => s.pipe(s)).listen(${port}, '${host}', () => console.log('ready'))`;

/** Connects from inside `netns` to `host:port`, sends a token, returns what came back or the error code. */
export function tcpProbe(netns: string, host: string, port: number): string {
  const script =
    `const s = require('net').connect(${port}, '${host}', () => s.end('hello-${port}'));` +
    `let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => console.log(got));` +
    `s.on('error', (e) => console.log(e.code));` +
    `s.setTimeout(3000, () => { console.log('TIMEOUT'); process.exit(0); });`;
  const r = spawnSync('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return (r.stdout ?? '').trim() || `no output (status ${r.status}): ${r.stderr}`;
}

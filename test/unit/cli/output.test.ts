import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directOutput } from '../../../src/cli/output.js';

const dirs: string[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by its stream
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'stack-output-'));
  dirs.push(d);
  return d;
}

describe('directOutput', () => {
  it('writes strings and bytes to the descriptor, in order, without making the stream', async () => {
    const file = join(scratch(), 'out');
    const fd = openSync(file, 'w');
    fds.push(fd);
    const out = directOutput(fd, () => {
      throw new Error('the stream was made');
    });
    expect(out.write('héllo ')).toBe(true);
    out.write(Buffer.from('wörld '));
    out.write('6869', 'hex');
    const called = await new Promise<boolean>((resolve) => out.write('\n', () => resolve(true)));
    expect(called).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('héllo wörld hi\n');
  });

  it('answers isTTY of a file (no character device, as a pipe or a socket) without the stream, as Node would (undefined); of a character device, through it', () => {
    const fd = openSync(join(scratch(), 'out'), 'w');
    fds.push(fd);
    const never = (): NodeJS.WriteStream => {
      throw new Error('the stream was made');
    };
    expect(directOutput(fd, never).isTTY).toBeUndefined();
    const devNull = openSync('/dev/null', 'w');
    fds.push(devNull);
    let made = 0;
    const out = directOutput(devNull, () => {
      made++;
      return { isTTY: false } as unknown as NodeJS.WriteStream;
    });
    expect(out.isTTY).toBe(false);
    expect(made).toBe(1);
  });

  it('makes the stream when anything but write is asked for, and then writes only through it', async () => {
    const file = join(scratch(), 'out');
    const fd = openSync(file, 'w');
    fds.push(fd);
    let made = 0;
    const out = directOutput(fd, () => {
      made++;
      return createWriteStream('', { fd, autoClose: false }) as unknown as NodeJS.WriteStream;
    });
    out.write('one ');
    expect(made).toBe(0);
    expect(out.writable).toBe(true);
    expect(made).toBe(1);
    out.write('two ');
    out.write('three\n');
    await new Promise<void>((resolve) => out.end(resolve));
    expect(made).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('one two three\n');
  });

  it('writes a pipe through the stream from the first write: a full pipe queues, it does not block', async () => {
    const fifo = join(scratch(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    fds.push(reader, writer);
    // What Node makes of a pipe on stdout: a net.Socket on the descriptor.
    let stream: Socket | undefined;
    const out = directOutput(writer, () => (stream = new Socket({ fd: writer, readable: false, writable: true })) as unknown as NodeJS.WriteStream, () => false);
    const expected = Buffer.concat(Array.from({ length: 6 }, (_, i) => Buffer.alloc(200_000, 0x61 + i)));
    // More than a pipe holds (64 KiB), before anyone reads: a blocking write(2) would never return here.
    for (let i = 0; i < 6; i++) out.write(expected.subarray(i * 200_000, (i + 1) * 200_000));
    expect(stream).toBeDefined();
    const input = new Socket({ fd: reader, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let total = 0;
    await new Promise<void>((resolve) =>
      input.on('data', (c: Buffer) => {
        chunks.push(c);
        total += c.length;
        if (total >= expected.length) resolve();
      }),
    );
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    input.destroy();
    stream!.destroy();
    fds.length = 0; // both descriptors were closed by their sockets
  });

  it('writes a pipe directly when told (a command that answers at once): no stream, the bytes in order', () => {
    const fifo = join(scratch(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    fds.push(reader, writer);
    const out = directOutput(
      writer,
      () => {
        throw new Error('the stream was made');
      },
      () => true,
    );
    out.write('NAME  STATE\n');
    out.write(Buffer.from('web   running\n'));
    const got = Buffer.alloc(100);
    expect(got.subarray(0, readSync(reader, got)).toString()).toBe('NAME  STATE\nweb   running\n');
  });

  it('told to write a pipe directly, a full non-blocking one gets the rest through the stream (EAGAIN): nothing lost, nothing reordered', async () => {
    const fifo = join(scratch(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    fds.push(reader, writer);
    let stream: Socket | undefined;
    let input: Socket | undefined;
    try {
      const out = directOutput(writer, () => (stream = new Socket({ fd: writer, readable: false, writable: true })) as unknown as NodeJS.WriteStream, () => true);
      out.write('first ');
      expect(stream).toBeUndefined();
      const big = Buffer.alloc(300_000, 0x62);
      out.write(big); // more than the pipe holds: write(2) takes part, EAGAIN, the stream the rest
      out.write(' last');
      expect(stream).toBeDefined();
      input = new Socket({ fd: reader, readable: true, writable: false });
      const expected = Buffer.concat([Buffer.from('first '), big, Buffer.from(' last')]);
      const chunks: Buffer[] = [];
      let total = 0;
      await new Promise<void>((resolve) =>
        input!.on('data', (c: Buffer) => {
          chunks.push(c);
          total += c.length;
          if (total >= expected.length) resolve();
        }),
      );
      expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    } finally {
      // The sockets own their descriptors from their making: closed by them, not by afterEach.
      if (input !== undefined) fds.splice(fds.indexOf(reader), 1);
      if (stream !== undefined) fds.splice(fds.indexOf(writer), 1);
      input?.destroy();
      stream?.destroy();
    }
  });

  it('`stack ls` read by a program (a socket, as child_process hands it) prints through write(2): process.stdout is never made', () => {
    const dir = scratch();
    const probe = join(dir, 'probe.cjs');
    // Reports on stderr whether anything made process.stdout (Node makes it when first read).
    writeFileSync(probe, `const d = Object.getOwnPropertyDescriptor(process, 'stdout');
Object.defineProperty(process, 'stdout', { configurable: true, enumerable: d.enumerable, get() { require('node:fs').writeSync(2, 'stdout made\\n'); return d.get.call(process); } });
`);
    const bin = join(import.meta.dirname, '../../../bin/stack.cjs');
    // An empty state root: no project, the header alone.
    // The environment a shell gives (no STACK_TRACE, no NODE_OPTIONS of the test runner's).
    const r = spawnSync(process.execPath, ['-r', probe, bin, 'ls'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/root', STACK_ROOT: join(dir, 'state') } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^NAME +STATUS/);
  });

  it('hands what write(2) refused to the stream, with the callback (/dev/full: ENOSPC)', async () => {
    const fd = openSync('/dev/full', 'w');
    fds.push(fd);
    const got: Buffer[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => got.push(c));
    const out = directOutput(fd, () => stream as unknown as NodeJS.WriteStream);
    const called = await new Promise<boolean>((resolve) => out.write('refused\n', () => resolve(true)));
    expect(called).toBe(true);
    out.write('later\n'); // the stream is made: everything goes through it now
    expect(Buffer.concat(got).toString()).toBe('refused\nlater\n');
  });
});

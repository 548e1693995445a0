// Published ports live in the supervisor: a TCP and a UDP port reach a service inside its
// netns, and come back on the same host ports after the supervisor is SIGKILLed and a new one
// is started from the records. Real kernel, root.
import dgram from 'node:dgram';
import net from 'node:net';
import { expect, it } from 'vitest';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { ensureSupervisor, reloadSupervisor, runningSupervisor, stopSupervisor, supervisorStatus } from '../../../src/supervisor/index.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, PROGRAMS_DIR, supervisorRigs } from './rig.js';

const echo = `${PROGRAMS_DIR}/echo.mjs`;

/** Sends `text` over TCP and resolves with the reply; rejects on a refused connection. */
function tcpAsk(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(3000, () => socket.destroy(new Error('tcp timeout')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(text));
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.end();
    });
  });
}

/** Sends one datagram and resolves with the reply (or undefined after 500 ms). */
function udpAsk(port: number, text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, 500);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg.toString());
    });
    socket.send(text, port, '127.0.0.1');
  });
}

describeRoot('supervisor: published ports', () => {
  const newRig = supervisorRigs();

  it('forwards TCP and UDP to the service and listens again on the same ports after a SIGKILL', async () => {
    const rig = newRig();
    await rig.up({
      web: {
        command: ['node', echo, '8080'],
        ports: [
          { hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' },
          { hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'udp' },
        ],
      },
    });
    const first = await ensureSupervisor(rig.project, rig.roots);
    const status = await supervisorStatus(rig.project, rig.roots);
    const ports = status!.services.find((s) => s.name === 'web')!.ports;
    const tcp = ports.find((p) => p.published.endsWith('/tcp'))!.boundPort!;
    const udp = ports.find((p) => p.published.endsWith('/udp'))!.boundPort!;
    expect(ports.map((p) => p.target)).toEqual([`${rig.address('web')}:8080`, `${rig.address('web')}:8080`]);
    expect(await eventually(() => tcpAsk(tcp, 'ping').catch(() => undefined), 'the TCP echo')).toBe('web:ping');
    expect(await eventually(() => udpAsk(udp, 'dgram'), 'the UDP echo')).toBe('web:dgram');
    expect(status!.dns).toEqual([rig.gateway]);

    process.kill(first.pid, 'SIGKILL');
    await eventually(() => !isSameProcess(first.pid, first.startTime), 'the supervisor to die');
    // Its last thread may still be closing its files (the leader shows as a zombie first).
    await eventually(() => tcpAsk(tcp, 'gone').then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED'), 'the port to close');
    expect(await runningSupervisor(rig.project, rig.roots)).toBeUndefined();

    const second = await ensureSupervisor(rig.project, rig.roots);
    expect(second.pid).not.toBe(first.pid);
    expect(await eventually(() => tcpAsk(tcp, 'again').catch(() => undefined), 'the TCP echo after the restart')).toBe('web:again');
    expect(await eventually(() => udpAsk(udp, 'again'), 'the UDP echo after the restart')).toBe('web:again');
  });

  it('at most one supervisor per project: concurrent ensures agree on one process', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['sleep', '3600'] } });
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => ensureSupervisor(rig.project, rig.roots)));
    expect(new Set([a!.pid, b!.pid, c!.pid]).size).toBe(1);
    await stopSupervisor(rig.project, rig.roots);
    expect(isSameProcess(a!.pid, a!.startTime)).toBe(false);
    expect(await runningSupervisor(rig.project, rig.roots)).toBeUndefined();
  });

  it('a host port taken by someone else is reported, and bound once it is free', async () => {
    const squatter = net.createServer();
    await new Promise<void>((done) => squatter.listen({ host: '127.0.0.1', port: 0 }, done));
    const port = (squatter.address() as net.AddressInfo).port;
    const rig = newRig();
    await rig.up({ web: { command: ['node', echo, '8080'], ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 8080, protocol: 'tcp' }] } });
    await ensureSupervisor(rig.project, rig.roots);
    const ports = async () => (await supervisorStatus(rig.project, rig.roots))!.services[0]!.ports;
    expect(await ports()).toEqual([expect.objectContaining({ published: `127.0.0.1:${port}/tcp`, error: expect.stringContaining('already in use') })]);
    await new Promise<void>((done) => squatter.close(() => done()));
    await reloadSupervisor(rig.project, rig.roots);
    expect(await ports()).toEqual([expect.objectContaining({ boundPort: port })]);
    expect(await eventually(() => tcpAsk(port, 'mine').catch(() => undefined), 'the echo on the freed port')).toBe('web:mine');
  });
});

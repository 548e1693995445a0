// `reload`: the supervisor follows the records — a service started later gets its published
// ports and its name in DNS, a stopped one loses its ports — and it answers DNS on the
// gateway for the services' names. Real kernel, root.
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { expect, it } from 'vitest';
import { ensureSupervisor, reloadSupervisor, supervisorStatus } from '../../../src/supervisor/index.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, PROGRAMS_DIR, supervisorRigs } from './rig.js';

const echo = `${PROGRAMS_DIR}/echo.mjs`;

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

describeRoot('supervisor: reload', () => {
  const newRig = supervisorRigs();

  it('opens the ports of a service started later, closes those of a stopped one, and serves its name', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['node', echo, '8080'], ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' }] } });
    await ensureSupervisor(rig.project, rig.roots);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([rig.gateway]);
    expect(await resolver.resolve4('web')).toEqual([rig.addressOf('web')]);

    await rig.add('api', { command: ['node', echo, '9090'], ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 9090, protocol: 'tcp' }] });
    expect(await reloadSupervisor(rig.project, rig.roots)).toBe(true);
    const status = await supervisorStatus(rig.project, rig.roots);
    const api = status!.services.find((s) => s.name === 'api')!;
    expect(api.ports).toEqual([expect.objectContaining({ target: `${rig.addressOf('api')}:9090`, boundPort: expect.any(Number) })]);
    expect(await eventually(() => tcpAsk(api.ports[0]!.boundPort!, 'hi').catch(() => undefined), 'the new service')).toBe('api:hi');
    expect(await resolver.resolve4('api')).toEqual([rig.addressOf('api')]);

    const web = status!.services.find((s) => s.name === 'web')!.ports[0]!.boundPort!;
    expect(await tcpAsk(web, 'x')).toBe('web:x');
    await rig.stop('web');
    await reloadSupervisor(rig.project, rig.roots);
    await expect(tcpAsk(web, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await supervisorStatus(rig.project, rig.roots))!.services.find((s) => s.name === 'web')).toMatchObject({ state: 'stopped', ports: [] });
  });
});

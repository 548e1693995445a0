import { describe, expect, it } from 'vitest';
import { dnsListeners } from '../../../src/network/dns/listeners.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import { publishedPorts } from '../../../src/network/portfwd/published.js';

const ipam: IpamRecord = {
  version: 1,
  networks: {
    back: { subnet: '10.209.0.0/24', gateway: '10.209.0.1', addresses: { api: '10.209.0.2', db: '10.209.0.3' } },
    front: { subnet: '10.209.1.0/24', gateway: '10.209.1.1', addresses: { api: '10.209.1.2' } },
  },
};

describe('publishedPorts', () => {
  it("aims each port at the service's address on its first network", () => {
    const services = {
      db: {
        ports: [{ hostIp: '127.0.0.1', hostPort: 5432, containerPort: 5432, protocol: 'tcp' as const }],
        networks: { back: { priority: 0 } },
      },
      api: {
        ports: [
          { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
          { hostIp: '127.0.0.1', hostPort: 0, containerPort: 9000, protocol: 'udp' as const },
        ],
        networks: { back: { priority: 0 }, front: { priority: 5 } },
      },
      gone: {
        ports: [{ hostIp: '127.0.0.1', hostPort: 1, containerPort: 1, protocol: 'tcp' as const }],
        networks: { back: { priority: 0 } },
      },
    };
    expect(publishedPorts(services, ipam)).toEqual([
      { service: 'api', hostIp: '0.0.0.0', hostPort: 8080, protocol: 'tcp', targetIp: '10.209.1.2', targetPort: 80 },
      { service: 'api', hostIp: '127.0.0.1', hostPort: 0, protocol: 'udp', targetIp: '10.209.1.2', targetPort: 9000 },
      { service: 'db', hostIp: '127.0.0.1', hostPort: 5432, protocol: 'tcp', targetIp: '10.209.0.3', targetPort: 5432 },
    ]);
  });
});

describe('dnsListeners', () => {
  it('listens on each gateway with that network’s names; internal networks relay nothing', () => {
    const service = (networks: Record<string, { aliases: string[]; priority: number }>) => ({
      hostname: 'h',
      networks,
      extraHosts: [],
    });
    const project = {
      networks: { back: { internal: true }, front: { internal: false } },
      services: {
        api: service({ back: { aliases: [], priority: 0 }, front: { aliases: ['www'], priority: 0 } }),
        db: service({ back: { aliases: [], priority: 0 } }),
      },
    };
    expect(dnsListeners(project, ipam).map((l) => ({ ...l, names: Object.fromEntries(l.names) }))).toEqual([
      { address: '10.209.0.1', names: { api: ['10.209.0.2'], db: ['10.209.0.3'] }, forward: false },
      { address: '10.209.1.1', names: { api: ['10.209.1.2'], www: ['10.209.1.2'] }, forward: true },
    ]);
  });
});

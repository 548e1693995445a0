// A network's MTU (driver_opts com.docker.network.driver.mtu) on the real kernel, through the
// CLI: the bridge, the host side of each veth and the service's eth0 carry it; changing it
// recreates the network (and re-plugs its services), and removing it brings the kernel's 1500 back.
// The service's /sys shows its own links (launcher/view.c own_net_in_sys), the MTU among them.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { bridgeName, vethHostName } from '../../../src/names.js';
import { rigPerTest } from './rig.js';

const rig = rigPerTest();

const mtuOf = (link: string): number => Number(readFileSync(`/sys/class/net/${link}/mtu`, 'utf8'));
/** eth0's MTU as the service sees it, asked of the kernel over netlink from inside. */
const MTU_INSIDE = ['exec', 'app', 'sh', '-c', "ip -o link show eth0 | sed 's/.* mtu \\([0-9]*\\).*/\\1/'"];
const APP = '  app:\n    command: sleep 3600\n';

describeRoot('network driver_opts: the MTU', () => {
  it('is the bridge\'s, its veths\' and the service\'s eth0; a change recreates the network', async () => {
    const r = rig();
    r.spec(APP, 'networks:\n  default:\n    driver_opts:\n      com.docker.network.driver.mtu: 1400\n');
    await r.ok(['up', '-d']);
    expect(mtuOf(bridgeName(r.name, 'default'))).toBe(1400);
    expect(mtuOf(vethHostName(r.name, 'app', 'default'))).toBe(1400);
    expect((await r.ok(MTU_INSIDE)).stdout.trim()).toBe('1400');
    // Its /sys lists its own links (a sysfs of its network namespace), not the host's bridges and veths.
    const sys = await r.ok(['exec', 'app', 'sh', '-c', 'ls /sys/class/net /sys/devices/virtual/net; cat /sys/class/net/eth0/mtu']);
    expect(sys.stdout.trim().split(/\s+/)).toEqual(['/sys/class/net:', 'eth0', 'lo', '/sys/devices/virtual/net:', 'eth0', 'lo', '1400']);

    // The bridge keeps it without a port: scaled to none, the service's veth is gone.
    await r.ok(['up', '-d', '--scale', 'app=0']);
    expect(mtuOf(bridgeName(r.name, 'default'))).toBe(1400);
    await r.ok(['up', '-d']);

    r.spec(APP, 'networks:\n  default:\n    driver_opts:\n      com.docker.network.driver.mtu: 1300\n');
    const plan = await r.ok(['plan']);
    expect(plan.stdout).toMatch(/create-network\s+network:default\s+.*mtu/);
    await r.ok(['up', '-d']);
    expect(mtuOf(bridgeName(r.name, 'default'))).toBe(1300);
    expect((await r.ok(MTU_INSIDE)).stdout.trim()).toBe('1300');

    r.spec(APP);
    await r.ok(['up', '-d']);
    expect(mtuOf(bridgeName(r.name, 'default'))).toBe(1500);
    expect((await r.ok(MTU_INSIDE)).stdout.trim()).toBe('1500');
    await r.ok(['down']);
    expect(r.leftovers(['app'])).toEqual([]);
  });

  it('a service on an external network takes the MTU its owner gave the bridge', async () => {
    const owner = rig();
    owner.spec(APP, 'networks:\n  default:\n    name: ' + owner.name + '_lan\n    driver_opts:\n      com.docker.network.driver.mtu: 1400\n');
    await owner.ok(['up', '-d']);
    const guest = rig();
    guest.spec('  app:\n    command: sleep 3600\n    networks: [lan]\n', `networks:\n  lan:\n    external: true\n    name: ${owner.name}_lan\n`);
    const shared = { STACK_ROOT: owner.env.STACK_ROOT }; // the owner's network is found in its state root
    try {
      await guest.ok(['up', '-d'], shared);
      expect(mtuOf(vethHostName(guest.name, 'app', 'lan'))).toBe(1400);
      expect((await guest.ok(MTU_INSIDE, shared)).stdout.trim()).toBe('1400');
    } finally {
      await guest.stack(['down'], shared);
    }
    await owner.ok(['down']);
    expect(guest.leftovers(['app'], ['lan'])).toEqual([]);
    expect(owner.leftovers(['app'])).toEqual([]);
  });
});

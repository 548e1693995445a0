// Escape attempt: a root service with default settings asks the cloud metadata service
// (169.254.169.254) for the machine's credentials through the project's NAT. The address is
// held by a throwaway namespace playing the outside world (never the real one); the host is a
// throwaway namespace too, with the project's bridge and its firewall applied the way `up`
// applies it (network record, then the create-network handler's syncProjectFirewall). The
// service is launched by the real launcher into a netns on that bridge. Dropped by default;
// reached once its network says `x-stack-allow-link-local: true`.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { bridgeName, nftTableName } from '../../../src/names.js';
import { syncProjectFirewall } from '../../../src/executor/handlers/firewall.js';
import { removeFirewall } from '../../../src/network/firewall/index.js';
import { serialized } from '../../../src/state/atomic.js';
import { networkRecords } from '../../../src/state/records.js';
import type { StateRoots } from '../../../src/state/paths.js';
import type { Project } from '../../../src/spec/project.js';
import { Lab, METADATA, OUTSIDE, UPLINK } from '../network/lab.js';
import { buildLauncher, LaunchRig } from '../launch/harness.js';

const SUBNET = '10.213.7.0/24';
const GATEWAY = '10.213.7.1';
const SERVICE_IP = '10.213.7.2';

// What the service runs: one HTTP-like request to the metadata address, the answer or the error.
const ASK = `const s=require('net').connect(8080,'${METADATA}');s.setTimeout(2000,()=>{console.log('TIMEOUT');process.exit(0)});s.on('data',d=>{console.log('ANSWER '+String(d).trim());process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;

describeWith({ root: true, commands: ['ip', 'nft', 'nsenter', 'sysctl'] }, 'escape: a service asks the cloud metadata service', () => {
  const lab = new Lab();
  const rig = new LaunchRig();
  const project = `t${lab.id}e`;
  let dir: string;
  let roots: StateRoots;
  let host: string;
  let service: string;

  /** Writes the network's record as create-network does and applies the firewall as `up` does. */
  const up = async (allowLinkLocal: boolean) => {
    await networkRecords.write(roots, {
      version: 1,
      kind: 'network',
      project,
      key: 'default',
      bootId: 'lab',
      config: { hash: 'lab', fields: {} },
      bridge: bridgeName(project, 'default'),
      subnet: SUBNET,
      gateway: GATEWAY,
      internal: false,
      ...(allowLinkLocal && { allowLinkLocal: true }),
    });
    await syncProjectFirewall({
      project: { name: project } as Project,
      roots,
      env: { supervisor: undefined as never, firewallTarget: { netnsPath: lab.path(host) }, ipForward: 'enable' },
      serial: (key, work) => serialized(`${roots.run}\0${project}\0${key}`, work),
      notice: () => undefined,
    });
  };
  /** Runs the asking service (root, default settings) in its netns; returns what it printed. */
  const ask = async () => {
    const { record, lines } = await rig.run(testService({ command: [process.execPath, '-e', ASK] }), { netns: lab.path(service) });
    expect(record.exitCode).toBe(0);
    return lines;
  };

  beforeAll(async () => {
    buildLauncher();
    dir = mkdtempSync(join(tmpdir(), 'stack-egress-'));
    roots = { run: join(dir, 'run'), lib: join(dir, 'lib') };
    // Forwarding off, as on a fresh host: `up` turns it on.
    host = await lab.netns('host', { 'net.ipv4.ip_forward': '0' });
    const outside = await lab.netns('out');
    service = await lab.netns('svc');
    await lab.uplink(host, outside);
    await lab.bridge(host, bridgeName(project, 'default'), `${GATEWAY}/24`);
    await lab.attach(host, bridgeName(project, 'default'), `stkt${lab.id}`, service, `${SERVICE_IP}/24`, GATEWAY);
    await lab.daemon(outside, 'greet.mjs'); // answers on 8080 with the address it sees
  });
  afterAll(async () => {
    try {
      await rig.cleanup();
    } finally {
      try {
        await lab.cleanup();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('is dropped by default, while the rest of the outside stays reachable', async () => {
    await up(false);
    expect(await lab.in(host, 'nft', 'list', 'table', 'inet', nftTableName(project))).toContain(`ip daddr 169.254.0.0/16 drop`);
    expect(await ask()).toEqual(['TIMEOUT']);
    // (control) the same way out works for an ordinary outside address.
    expect(await lab.program(service, 'probe.mjs', '2000', `${OUTSIDE}:8080`)).toEqual([{ ok: true, line: UPLINK }]);
  });

  it('gets through, masqueraded, once the network says x-stack-allow-link-local: true', async () => {
    await up(true);
    expect(await ask()).toEqual([`ANSWER ${UPLINK}`]);
  });

  it('is dropped again when the opt-in goes, and down leaves no table', async () => {
    await up(false);
    expect(await ask()).toEqual(['TIMEOUT']);
    await networkRecords.remove(roots, project, 'default');
    await removeFirewall(project, { netnsPath: lab.path(host) }); // what down and gc run
    expect(await lab.in(host, 'nft', 'list', 'tables')).not.toContain(nftTableName(project));
  });
});

// network_mode, pid and ipc through the real CLI on the real kernel: `service:` shares the
// owner's netns (localhost between them, the sharer's name at the owner's address), `host` runs
// in the host's netns (checked read-only: no traffic), `none` has loopback only; pid and ipc of
// another service show its processes and its SysV shared memory. `down` leaves nothing and the
// host's netns as it was.
import { readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { rigPerTest, type Rig } from '../up-down/rig.js';

const rig = rigPerTest();

/** The namespace `kind` of pid `pid` (`net:[4026531840]`). */
function nsOf(pid: number | 'self', kind: 'net' | 'pid' | 'ipc'): string {
  return readlinkSync(`/proc/${pid}/ns/${kind}`);
}

/** Interface names of /proc/net/dev as `text` lists them. */
function interfaces(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

async function exec(r: Rig, service: string, ...cmd: string[]): Promise<string> {
  return (await r.ok(['exec', '-T', service, ...cmd])).stdout;
}

const LISTENER = `["node", "-e", "require('net').createServer((s) => s.end('hello from web')).listen(8080, '127.0.0.1')"]`;
const CONNECT = [
  'node',
  '-e',
  "const s = require('net').connect(8080, '127.0.0.1'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log(d)); s.on('error', (e) => { console.log('error ' + e.code); })",
];

describeRoot('network_mode through the CLI', () => {
  it('service:NAME shares the owner\'s netns: localhost between them, its name at the owner\'s address; down leaves nothing', async () => {
    const r = rig();
    r.spec(`  web:
    command: ${LISTENER}
  side:
    command: sleep 3600
    network_mode: "service:web"
  other:
    command: sleep 3600
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const [web, side, other] = [await r.pid('web'), await r.pid('side'), await r.pid('other')];
    expect(nsOf(side, 'net')).toBe(nsOf(web, 'net'));
    expect(nsOf(other, 'net')).not.toBe(nsOf(web, 'net'));
    expect((await r.record('side'))?.netns).toBeNull();
    expect(Object.keys((await r.record('side'))?.veths ?? {})).toEqual([]);
    // The listener on web's 127.0.0.1 answers side, and not another service.
    let answer = '';
    for (let i = 0; i < 50 && !answer.includes('hello'); i++) answer = await exec(r, 'side', ...CONNECT);
    expect(answer.trim()).toBe('hello from web');
    expect((await exec(r, 'other', ...CONNECT)).trim()).toBe('error ECONNREFUSED');
    // As in Docker, the sharer has its owner's hostname.
    expect((await exec(r, 'side', 'cat', '/proc/sys/kernel/hostname')).trim()).toBe('web');
    // Docker's DNS answers a sharer's name with its owner's address.
    const webAddress = (await exec(r, 'other', 'getent', 'hosts', 'web')).trim().split(/\s+/)[0];
    expect(webAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await exec(r, 'other', 'getent', 'hosts', 'side')).trim().split(/\s+/)[0]).toBe(webAddress);
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['web', 'side', 'other'])).toEqual([]);
  });

  it('a recreated owner takes its sharer along into its new process', async () => {
    const r = rig();
    const spec = (env: string) => `  web:
    command: ${LISTENER}
    environment: {V: "${env}"}
  side:
    command: sleep 3600
    network_mode: "service:web"
`;
    r.spec(spec('1'));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const before = await r.pid('side');
    r.spec(spec('2'));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const [web, side] = [await r.pid('web'), await r.pid('side')];
    expect(side).not.toBe(before);
    expect(nsOf(side, 'net')).toBe(nsOf(web, 'net'));
  });

  it('host runs in the host\'s netns with a warning (ports discarded); down leaves the host\'s netns as it was', async () => {
    const r = rig();
    const hostNet = nsOf('self', 'net');
    const hostLinks = interfaces(readFileSync('/proc/net/dev', 'utf8'));
    r.spec(`  edge:
    command: sleep 3600
    network_mode: host
    ports: ["127.0.0.1:9:80"]
`);
    const up = await r.ok(['up', '-d', '--progress', 'quiet']);
    expect(up.stderr).toContain('uses the host\'s network namespace');
    expect(up.stderr).toContain('published ports are discarded');
    const edge = await r.pid('edge');
    expect(nsOf(edge, 'net')).toBe(hostNet);
    expect(nsOf(edge, 'pid')).not.toBe(nsOf('self', 'pid'));
    // Read-only: the service lists the host's interfaces.
    expect(interfaces(await exec(r, 'edge', 'cat', '/proc/net/dev'))).toEqual(hostLinks);
    expect((await r.record('edge'))?.netns).toBeNull();
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['edge'])).toEqual([]);
    expect(nsOf('self', 'net')).toBe(hostNet);
    expect(interfaces(readFileSync('/proc/net/dev', 'utf8'))).toEqual(hostLinks);
  });

  it('none has its own netns with loopback only', async () => {
    const r = rig();
    r.spec(`  lone:
    command: ${LISTENER}
    network_mode: none
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const lone = await r.pid('lone');
    expect(nsOf(lone, 'net')).not.toBe(nsOf('self', 'net'));
    expect(interfaces(await exec(r, 'lone', 'cat', '/proc/net/dev'))).toEqual(['lo']);
    // Loopback is up: the service reaches itself.
    let answer = '';
    for (let i = 0; i < 50 && !answer.includes('hello'); i++) answer = await exec(r, 'lone', ...CONNECT);
    expect(answer.trim()).toBe('hello from web');
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['lone'])).toEqual([]);
  });
});

describeRoot('pid and ipc through the CLI', () => {
  it('pid: service:NAME sees the other service\'s processes; ipc: service:NAME its SysV shared memory', async () => {
    const r = rig();
    r.spec(`  web:
    command: sleep 3601
    ipc: shareable
  side:
    command: sleep 3602
    pid: "service:web"
    ipc: "service:web"
  other:
    command: sleep 3603
`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const [web, side, other] = [await r.pid('web'), await r.pid('side'), await r.pid('other')];
    expect(nsOf(side, 'pid')).toBe(nsOf(web, 'pid'));
    expect(nsOf(side, 'ipc')).toBe(nsOf(web, 'ipc'));
    expect(nsOf(other, 'ipc')).not.toBe(nsOf(web, 'ipc'));
    const cmdlines = (service: string) => exec(r, service, 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < $f; echo; done');
    const seen = await cmdlines('side');
    expect(seen).toContain('sleep 3601');
    expect(seen).toContain('sleep 3602');
    expect(await cmdlines('other')).not.toContain('sleep 3601');
    const id = (await exec(r, 'web', 'ipcmk', '-M', '4096')).match(/(\d+)/)?.[1];
    expect(id).toBeDefined();
    const shmIds = async (service: string) => (await exec(r, service, 'ipcs', '-m')).split('\n').map((l) => l.split(/\s+/)[1]);
    expect(await shmIds('side')).toContain(id);
    expect(await shmIds('other')).not.toContain(id);
    // POSIX shared memory too: /dev/shm is web's, as Docker shares it with the IPC namespace.
    await exec(r, 'web', 'sh', '-c', 'echo shared > /dev/shm/seg');
    expect((await exec(r, 'side', 'cat', '/dev/shm/seg')).trim()).toBe('shared');
    expect((await r.stack(['exec', '-T', 'other', 'cat', '/dev/shm/seg'])).exitCode).not.toBe(0);
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['web', 'side', 'other'])).toEqual([]);
  });

  it('pid: host and ipc: host are the host\'s namespaces (the service sees this test\'s process), with warnings', async () => {
    const r = rig();
    r.spec(`  hosted:
    command: sleep 3604
    pid: host
    ipc: host
`);
    const up = await r.ok(['up', '-d', '--progress', 'quiet']);
    expect(up.stderr).toContain('uses the host\'s pid namespace');
    expect(up.stderr).toContain('uses the host\'s IPC namespace');
    const pid = await r.pid('hosted');
    expect(nsOf(pid, 'pid')).toBe(nsOf('self', 'pid'));
    expect(nsOf(pid, 'ipc')).toBe(nsOf('self', 'ipc'));
    expect(nsOf(pid, 'net')).not.toBe(nsOf('self', 'net'));
    expect(await exec(r, 'hosted', 'cat', `/proc/${process.pid}/stat`)).toContain(`${process.pid} (`);
    // The host's /dev/shm comes with the host's IPC namespace (a file this test makes and removes).
    const seg = `/dev/shm/stack-test-${process.pid}-${r.name}`;
    writeFileSync(seg, 'from the host');
    try {
      expect(await exec(r, 'hosted', 'cat', seg)).toBe('from the host');
    } finally {
      rmSync(seg, { force: true });
    }
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['hosted'])).toEqual([]);
  });
});

// Replicas in the planner: a service of N replicas is N services keyed web, web#2, ... (replica 1
// keeps the service's own key, so one replica plans exactly as before and scaling never recreates
// it); each replica gets its own netns, veths and process and carries the service's name as an
// alias; scaling down removes the highest-numbered ones (targeted `up web` too); `down` removes
// all; what replicas cannot share is refused naming --scale. Names stay injective.
import { describe, expect, test } from 'vitest';
import { expandReplicas, parseScaleOptions, replicaKeys, replicaLabels, replicaOf } from '../../../src/planner/replicas.js';
import { logPrefixer } from '../../../src/cli/render/log-prefix.js';
import { plan } from '../../../src/planner/reconcile.js';
import { planDown } from '../../../src/planner/down.js';
import { hashService } from '../../../src/planner/hash.js';
import { emptyLiveState } from '../../../src/state/live.js';
import { cgroupPath, netnsName, parseReplicaKey, replicaKey, vethHostName } from '../../../src/names.js';
import { UserError } from '../../../src/errors.js';
import { nameTable } from '../../../src/network/peers.js';
import { hostsFile } from '../../../src/network/hosts.js';
import { needs, project, service, simulate } from './fixtures.js';

const app = project([service('web', { scale: 3 }), service('peer')]);

describe('replica keys and kernel names', () => {
  test('replica 1 is the service; 2..N are <service>#N, which no service can be named', () => {
    expect(replicaKey('web', 1)).toBe('web');
    expect(replicaKey('web', 2)).toBe('web#2');
    expect(parseReplicaKey('web#2')).toEqual({ service: 'web', index: 2 });
    for (const k of ['web', 'web#1', 'web#02', 'web#', '#2', 'a/b#2', 'web-2']) expect(parseReplicaKey(k)).toBeUndefined();
    expect(replicaOf('web#3')).toEqual({ service: 'web', index: 3 });
    expect(replicaOf('web')).toEqual({ service: 'web', index: 1 });
  });
  test('netns, veth and cgroup names of replicas are distinct from each other and from any service', () => {
    const keys = ['web', 'web#2', 'web#3', 'web-2', 'web_2', 'web.2'];
    expect(new Set(keys.map((k) => netnsName('p', k))).size).toBe(keys.length);
    expect(new Set(keys.map((k) => vethHostName('p', k, 'default'))).size).toBe(keys.length);
    expect(new Set(keys.map((k) => cgroupPath('p', k))).size).toBe(keys.length);
    expect(netnsName('p', 'web#2')).toBe('stk-p.web#2');
    for (const k of keys) expect(vethHostName('p', k, 'default').length).toBeLessThanOrEqual(15);
  });
});

describe('expandReplicas', () => {
  test('N services, replica 1 unchanged; the others with their own key, hostname, container name and the service name as alias', () => {
    const x = expandReplicas(app);
    expect(Object.keys(x.services)).toEqual(['peer', 'web', 'web#2', 'web#3']);
    expect(x.services.web).toBe(app.services.web);
    expect(x.services['web#2']).toMatchObject({ name: 'web#2', hostname: 'web-2', containerName: 'p-web-2', replica: { of: 'web', index: 2 } });
    expect(x.services['web#3']!.networks.default!.aliases).toEqual(['web']);
    expect(replicaKeys(x.services, 'web')).toEqual(['web', 'web#2', 'web#3']);
  });
  test('one replica everywhere: the very same project (nothing recreated after an upgrade)', () => {
    const one = project([service('web'), service('peer', { scale: 1 })]);
    expect(expandReplicas(one)).toBe(one);
    // scale is not hashed: setting it (or changing it) never recreates replica 1
    expect(hashService(service('web', { scale: 3 })).hash).toBe(hashService(service('web')).hash);
  });
  test('--scale overrides the spec; 0 runs none and drops the depends_on on it', () => {
    const deps = project([service('web', { scale: 3 }), service('api', { dependsOn: { web: { condition: 'service_started', required: true, restart: false } } })]);
    expect(Object.keys(expandReplicas(deps, new Map([['web', 1]])).services).sort()).toEqual(['api', 'web']);
    const none = expandReplicas(deps, new Map([['web', 0]]));
    expect(Object.keys(none.services)).toEqual(['api']);
    expect(none.services.api!.dependsOn).toEqual({});
  });
  test('a host range is shared out one port per replica; an ephemeral port stays ephemeral', () => {
    const ports = [
      { hostIp: '127.0.0.1', hostPort: 8000, hostPortEnd: 8002, containerPort: 80, protocol: 'tcp' as const },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 81, protocol: 'tcp' as const },
    ];
    const x = expandReplicas(project([service('web', { scale: 3, ports })]));
    expect(x.services['web#2']!.ports).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8001, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 81, protocol: 'tcp' },
    ]);
    expect(x.services['web#3']!.ports[0]!.hostPort).toBe(8002);
  });
  test('what replicas cannot share, asked by --scale, is refused naming --scale', () => {
    const fixed = project([service('web', { ports: [{ hostIp: '127.0.0.1', hostPort: 9000, containerPort: 80, protocol: 'tcp' }] })]);
    expect(() => expandReplicas(fixed, new Map([['web', 2]]))).toThrow(/host port 9000 cannot be shared by 2 replicas \(--scale web=2\)/);
    const named = project([service('web', { containerName: 'fixed' })]);
    expect(() => expandReplicas(named, new Map([['web', 2]]))).toThrow(UserError);
    const narrow = project([service('web', { ports: [{ hostIp: '127.0.0.1', hostPort: 8000, hostPortEnd: 8001, containerPort: 80, protocol: 'tcp' }] })]);
    expect(() => expandReplicas(narrow, new Map([['web', 3]]))).toThrow(/host range 8000-8001/);
    expect(() => expandReplicas(fixed, new Map([['web', 1]]))).not.toThrow();
    const global = project([service('agent', { global: true }), service('peer')]);
    expect(() => expandReplicas(global, new Map([['agent', 2]]))).toThrow(/"agent" is global \(deploy.mode: global\): it runs one replica on each host, not 2 \(--scale agent=2\)/);
    expect(Object.keys(expandReplicas(global, new Map([['agent', 0]])).services)).toEqual(['peer']);
    expect(expandReplicas(global, new Map([['agent', 1]]))).toBe(global);
  });
  test('--scale values: SERVICE=N of a known service', () => {
    expect(parseScaleOptions(['web=2', 'peer=0'], app)).toEqual(new Map([['web', 2], ['peer', 0]]));
    expect(() => parseScaleOptions(['web'], app)).toThrow(/not SERVICE=N/);
    expect(() => parseScaleOptions(['web=-1'], app)).toThrow(/not SERVICE=N/);
    expect(() => parseScaleOptions(['nope=2'], app)).toThrow(/no service "nope"/);
  });
});

describe('plans of replicas', () => {
  const empty = emptyLiveState('p');
  test('each replica its own netns, veth and process', () => {
    const ops = plan(expandReplicas(app), empty).operations.map((o) => o.id);
    for (const k of ['web', 'web#2', 'web#3', 'peer']) {
      expect(ops).toContain(`create-netns:${k}`);
      expect(ops).toContain(`attach-veth:${k}/default`);
      expect(ops).toContain(`start-service:${k}`);
    }
  });
  test('scaling up adds replicas and leaves replica 1 alone; scaling down removes the highest; down removes all', () => {
    const one = expandReplicas(app, new Map([['web', 1]]));
    const upOne = simulate(one, emptyLiveState('p'), plan(one, emptyLiveState('p')));
    const three = expandReplicas(app);
    const scaleUp = plan(three, upOne);
    expect(scaleUp.operations.filter((o) => o.kind === 'start-service').map((o) => o.id)).toEqual(['start-service:web#2', 'start-service:web#3']);
    expect(scaleUp.operations.some((o) => 'service' in o && (o.service === 'web' || o.service === 'peer'))).toBe(false);
    const upThree = simulate(three, upOne, scaleUp);
    const two = expandReplicas(app, new Map([['web', 2]]));
    const down = plan(two, upThree);
    expect(down.operations.filter((o) => o.kind === 'remove-service').map((o) => `${o.id} ${o.cause}`)).toEqual(['remove-service:web#3 scaled to 2']);
    // targeted `up web` scales too
    const targeted = plan(one, upThree, { services: ['web'] });
    expect(targeted.operations.filter((o) => o.kind === 'remove-service').map((o) => o.id).sort()).toEqual(['remove-service:web#2', 'remove-service:web#3']);
    const gone = planDown(upThree, { volumes: false });
    expect(gone.operations.filter((o) => o.kind === 'remove-service').map((o) => o.id).sort()).toEqual(['remove-service:peer', 'remove-service:web', 'remove-service:web#2', 'remove-service:web#3']);
  });
});

describe('depends_on a scaled service', () => {
  const deps = expandReplicas(project([service('web', { scale: 3 }), service('api', { dependsOn: needs('web') })]));
  test('the dependent starts after every replica, and stops before every one', () => {
    const up = plan(deps, emptyLiveState('p')).operations.map((o) => o.id);
    for (const k of ['web', 'web#2', 'web#3']) expect(up.indexOf(`start-service:${k}`)).toBeLessThan(up.indexOf('start-service:api'));
    // `up api` brings every replica of its dependency
    const targeted = plan(deps, emptyLiveState('p'), { services: ['api'] }).operations.map((o) => o.id);
    for (const k of ['web', 'web#2', 'web#3', 'api']) expect(targeted).toContain(`start-service:${k}`);
    const running = simulate(deps, emptyLiveState('p'), plan(deps, emptyLiveState('p')));
    const down = planDown(running, { volumes: false });
    const ops = down.operations;
    for (const k of ['web', 'web#2', 'web#3']) {
      const stop = ops.find((o) => o.id === `stop-service:${k}`)!;
      expect(stop, k).toBeDefined();
      expect(ops.indexOf(stop)).toBeGreaterThan(ops.findIndex((o) => o.id === 'stop-service:api'));
    }
  });
});

describe('names of replicas', () => {
  const x = expandReplicas(app);
  const ipam = { version: 1 as const, networks: { default: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', addresses: { peer: '10.0.0.2', web: '10.0.0.3', 'web#2': '10.0.0.4', 'web#3': '10.0.0.5' } } } };
  test('the service name answers every replica; each replica by its container name; no key with # is a name', () => {
    const table = nameTable(x, ipam as never, 'default');
    expect(table.get('web')).toEqual(['10.0.0.3', '10.0.0.4', '10.0.0.5']);
    expect(table.get('p-web-2')).toEqual(['10.0.0.4']);
    expect([...table.keys()].some((k) => k.includes('#'))).toBe(false);
  });
  test("/etc/hosts leaves the scaled name to DNS and has no # (a comment there)", () => {
    const hosts = hostsFile(x, ipam as never, 'peer');
    expect(hosts).not.toMatch(/\sweb(\s|$)/m);
    expect(hosts.split('\n').filter((l) => !l.startsWith('#')).join('\n')).not.toContain('#');
    expect(hosts).toContain('10.0.0.4\tp-web-2');
    // replica 1's hostname (the service's name) is itself in its own file; replica 2 leaves `web` to DNS
    expect(hostsFile(x, ipam as never, 'web')).toMatch(/^10\.0\.0\.3\tweb$/m);
    const second = hostsFile(x, ipam as never, 'web#2');
    expect(second).toMatch(/^10\.0\.0\.4\tweb-2 p-web-2$/m);
    expect(second).not.toMatch(/\sweb(\s|$)/m);
  });
});

describe('how replicas are shown', () => {
  test('a scaled service as SERVICE-N, every replica; anything else as it is', () => {
    expect([...replicaLabels(['peer', 'web', 'web#2', 'web#3', 'web-run-0a1b2c']).values()]).toEqual(['peer', 'web-1', 'web-2', 'web-3', 'web-run-0a1b2c']);
    expect([...replicaLabels(['peer', 'web']).values()]).toEqual(['peer', 'web']);
  });
  test('log prefixes as compose prints them: web-1 | ..., web-2 | ...', () => {
    const prefix = logPrefixer(['web', 'web#2', 'db'], false);
    expect(prefix('web', 'a')).toBe('web-1 | a');
    expect(prefix('web#2', 'b')).toBe('web-2 | b');
    expect(prefix('db', 'c')).toBe('db    | c');
  });
});

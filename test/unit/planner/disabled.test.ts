// compose's disabled services in the planner: one a profile no longer enables that is there is
// kept as last applied (no operation names it, what it uses comes with it), unless what it needs
// is gone; a plan without it kept removes it, as before.
import { describe, expect, test } from 'vitest';
import { clashOf, disabledThere, withAsApplied, withDisabledKept } from '../../../src/planner/disabled.js';
import { plan } from '../../../src/planner/reconcile.js';
import { emptyLiveState, type LiveState } from '../../../src/state/live.js';
import type { Project, Service } from '../../../src/spec/project.js';
import { needs, network, on, project, service, simulate, volume } from './fixtures.js';

/** The project as `--profile debug up` applied it: web on front, debug (and its second replica) on default. */
const applied = project(
  [
    service('web', { networks: on('front') }),
    service('debug', { dependsOn: needs('web'), volumes: [{ type: 'volume', source: 'dumps', target: '/dumps', readOnly: false }] }),
    service('debug#2', { replica: { of: 'debug', index: 2 } }),
    service('tool', { networks: {}, networkMode: { kind: 'service', service: 'debug' } }),
  ],
  { volumes: [volume('dumps')] },
);

/** The same spec loaded without the profile: debug and tool disabled, default and dumps unused. */
const loaded: Project = { ...project([service('web', { networks: on('front') })]), disabledServices: ['debug', 'tool'] };

function there(p: Project): LiveState {
  return simulate(p, emptyLiveState('p'), plan(p, emptyLiveState('p')));
}

describe('disabled services that are there', () => {
  test('are kept as applied, with the network and volume only they use, and no operation names them', () => {
    const live = there(applied);
    expect(disabledThere(loaded, live)).toEqual(['debug', 'debug#2', 'tool']);
    const { project: desired, kept } = withDisabledKept(loaded, live, applied);
    expect(kept).toEqual(['debug', 'debug#2', 'tool']);
    expect(Object.keys(desired.networks)).toEqual(['default', 'front']);
    expect(Object.keys(desired.volumes)).toEqual(['dumps']);
    expect(plan(desired, live, { kept }).operations).toEqual([]);
    expect(plan(desired, live, { kept, forceRecreate: true }).operations.map((op) => op.id)).toEqual([
      'stop-service:web',
      'remove-service:web',
      'start-service:web',
    ]);
  });

  test('without them kept, a whole up and --remove-orphans remove them; a targeted up leaves them', () => {
    const live = there(applied);
    const removed = (ops: readonly { kind: string; id: string }[]) => ops.filter((op) => op.kind === 'remove-service').map((op) => op.id);
    expect(removed(plan(loaded, live).operations)).toEqual(['remove-service:debug', 'remove-service:debug#2', 'remove-service:tool']);
    expect(removed(plan(loaded, live, { services: ['web'] }).operations)).toEqual([]);
    expect(removed(plan(loaded, live, { services: ['web'], removeOrphans: true }).operations)).toHaveLength(3);
  });

  test('a kept service waits only for the services the project has: one the spec dropped is removed', () => {
    const withCache = project([service('web', { networks: on('front') }), service('cache'), service('debug', { dependsOn: needs('web', 'cache') })]);
    const live = there(withCache);
    const { project: desired, kept } = withDisabledKept({ ...loaded, disabledServices: ['debug'] }, live, withCache);
    expect(kept).toEqual(['debug']);
    expect(Object.keys(desired.services.debug!.dependsOn)).toEqual(['web']);
    expect(plan(desired, live, { kept }).operations.map((op) => op.id)).toEqual(['stop-service:cache', 'detach-veth:cache/default', 'remove-netns:cache', 'remove-service:cache']);
  });

  test('one not in the applied project, or whose network is in neither, is not kept; nor one sharing its namespaces', () => {
    const live = there(applied);
    const withoutDebug: Project = { ...applied, services: Object.fromEntries(Object.entries(applied.services).filter(([k]) => k !== 'debug')) };
    expect(withDisabledKept(loaded, live, withoutDebug).kept).toEqual(['debug#2']); // tool shares debug's netns
    const noDefault: Project = { ...applied, networks: { front: network('front') } };
    // debug and debug#2 were on default; tool shares debug's netns, so it goes with it.
    expect(withDisabledKept(loaded, live, noDefault).kept).toEqual([]);
    expect(withDisabledKept(loaded, live, undefined).kept).toEqual([]);
  });

  test('a one-off named as a disabled service (`stack run --name tool web`) is no disabled service; nor one the spec does not disable', () => {
    const web = project([service('web', { networks: on('front') })]);
    const ran = there({ ...web, services: { ...web.services, tool: { ...web.services.web!, name: 'tool' } } });
    const marked: LiveState = { ...ran, services: { ...ran.services, tool: { ...ran.services.tool!, oneOff: 'web' } } };
    expect(disabledThere(loaded, marked)).toEqual([]);
    expect(disabledThere({ ...loaded, disabledServices: ['tool'] }, there(applied))).toEqual(['tool']);
  });

  test("a snapshot's service of a shape this build does not read is not kept", () => {
    const live = there(applied);
    const older = { ...applied, services: { ...applied.services, debug: { name: 'debug', command: ['sleep', '1'] } as unknown as Service } };
    expect(withDisabledKept(loaded, live, older).kept).toEqual(['debug#2']); // tool shared debug's netns
  });
});

describe('what a kept or carried service may not share', () => {
  const port = (hostIp: string, hostPort: number, protocol: 'tcp' | 'udp' = 'tcp', hostPortEnd?: number) => ({ hostIp, hostPort, protocol, containerPort: 80, ...(hostPortEnd !== undefined && { hostPortEnd }) });
  const publishing = (name: string, ...ports: ReturnType<typeof port>[]) => service(name, { ports });

  test('a host port: the same address, a wildcard of its family or ::, the same protocol; a range by the first port, the one bound', () => {
    expect(clashOf(publishing('a', port('127.0.0.1', 8080)), publishing('b', port('127.0.0.1', 8080)))).toBe('127.0.0.1:8080/tcp');
    expect(clashOf(publishing('a', port('0.0.0.0', 8080)), publishing('b', port('127.0.0.1', 8080)))).toBe('0.0.0.0:8080/tcp');
    expect(clashOf(publishing('a', port('::1', 8080)), publishing('b', port('::', 8080)))).toBe('[::1]:8080/tcp');
    expect(clashOf(publishing('a', port('127.0.0.1', 8000, 'tcp', 8010)), publishing('b', port('127.0.0.1', 8005)))).toBeUndefined();
    expect(clashOf(publishing('a', port('127.0.0.1', 8000, 'tcp', 8010)), publishing('b', port('127.0.0.1', 8000)))).toBe('127.0.0.1:8000/tcp');
    expect(clashOf(publishing('a', port('0.0.0.0', 8080)), publishing('b', port('::1', 8080)))).toBeUndefined();
    expect(clashOf(publishing('a', port('127.0.0.1', 8080)), publishing('b', port('127.0.0.1', 8080, 'udp')))).toBeUndefined();
    expect(clashOf(publishing('a', port('127.0.0.1', 0)), publishing('b', port('127.0.0.1', 0)))).toBeUndefined();
    expect(clashOf(service('a', { containerName: 'x' }), service('b', { containerName: 'x' }))).toBe('container_name x');
  });

  test('with sameNetworks, not one on a network the project declares otherwise; with yieldClashing, one without what a service of the project has', () => {
    const redeclared: Project = { ...loaded, networks: { ...loaded.networks, default: network('default', { internal: true }) } };
    expect(withAsApplied(redeclared, ['debug', 'debug#2'], applied, { sameNetworks: true }).kept).toEqual([]);
    expect(withAsApplied(redeclared, ['debug', 'debug#2'], applied).kept).toEqual(['debug', 'debug#2']);
    // A whole up: a disabled service on a network made anew is not kept (the plan removes it).
    expect(withDisabledKept({ ...redeclared, disabledServices: ['debug'] }, there(applied), applied).kept).toEqual([]);
    const port = { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const };
    const other = { ...port, hostPort: 9090 };
    const taken: Project = { ...loaded, services: { ...loaded.services, web: { ...loaded.services.web!, containerName: 'dbg', ports: [port] } } };
    const named: Project = { ...applied, services: { ...applied.services, debug: { ...applied.services.debug!, containerName: 'dbg', ports: [port, other] } } };
    expect(withAsApplied(taken, ['debug'], named).project.services.debug).toEqual(named.services.debug);
    const yielded = withAsApplied(taken, ['debug'], named, { yieldClashing: true }).project.services.debug!;
    expect(yielded.ports).toEqual([other]);
    expect(yielded).not.toHaveProperty('containerName');
    expect(yielded.networks).toEqual(named.services.debug!.networks);
  });
});

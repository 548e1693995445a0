// network_mode, pid, ipc and volumes_from: the model, the implicit dependency on the owner and
// every error with its place, expected text and hint.
import { describe, expect, test } from 'vitest';
import { normalize } from '../../../src/spec/normalize.js';
import { netnsOwner } from '../../../src/spec/namespace-modes.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

function load(yaml: string) {
  const raw = rawSpec(yaml);
  const structural = validate(raw).filter((d) => d.severity === 'error');
  if (structural.length > 0) return { project: undefined, diagnostics: structural };
  return normalize(raw);
}
const errors = (yaml: string) => load(yaml).diagnostics.filter((d) => d.severity === 'error');
const warnings = (yaml: string) => load(yaml).diagnostics.filter((d) => d.severity === 'warning');

describe('network_mode: the model', () => {
  test('none and host join no network; service:NAME shares the owner\'s netns and depends on it (restart: true)', () => {
    const { project, diagnostics } = load(`services:
  web: {command: [x]}
  side: {command: [x], network_mode: "service:web"}
  lone: {command: [x], network_mode: none}
  edge: {command: [x], network_mode: host}
`);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const s = project!.services;
    expect(s.side!.networkMode).toEqual({ kind: 'service', service: 'web' });
    expect(s.side!.networks).toEqual({});
    expect(s.side!.dependsOn).toEqual({ web: { condition: 'service_started', required: true, restart: true } });
    expect(s.lone!.networkMode).toEqual({ kind: 'none' });
    expect(s.lone!.networks).toEqual({});
    expect(s.edge!.networkMode).toEqual({ kind: 'host' });
    expect(Object.keys(s.web!.networks)).toEqual(['default']);
    expect(netnsOwner(s, 'side')).toEqual({ kind: 'service', service: 'web' });
    expect(netnsOwner(s, 'edge')).toEqual({ kind: 'host' });
    expect(netnsOwner(s, 'web')).toEqual({ kind: 'service', service: 'web' });
  });

  test('a sharer has its owner\'s hostname, as in Docker; a hostname of its own is an error', () => {
    const { project } = load(`services:
  web: {command: [x], hostname: box}
  side: {command: [x], network_mode: "service:web"}
`);
    expect(project!.services.side!.hostname).toBe('box');
    const e = errors(`services:\n  web: {command: [x]}\n  side: {command: [x], network_mode: "service:web", hostname: other}\n`);
    expect(e.map((d) => [d.code, d.path!.join('.')])).toEqual([['CONFLICT', 'services.side.hostname']]);
  });

  test('dns, extra_hosts and expose beside network_mode: service: are errors, as Docker refuses them', () => {
    const e = errors(`services:\n  web: {command: [x]}\n  side: {command: [x], network_mode: "service:web", dns: [1.1.1.1], extra_hosts: ["a:1.2.3.4"], expose: [80]}\n`);
    expect(e.map((d) => [d.code, d.path!.join('.')])).toEqual([
      ['CONFLICT', 'services.side.dns'],
      ['CONFLICT', 'services.side.extra_hosts'],
      ['CONFLICT', 'services.side.expose'],
    ]);
  });

  test('a chain of sharers ends at the owner of the netns', () => {
    const { project } = load(`services:
  a: {command: [x]}
  b: {command: [x], network_mode: "service:a"}
  c: {command: [x], network_mode: "service:b"}
`);
    expect(netnsOwner(project!.services, 'c')).toEqual({ kind: 'service', service: 'a' });
  });

  test('an explicit depends_on on the owner is kept as written', () => {
    const { project } = load(`services:
  a: {command: [x], healthcheck: {test: [CMD, x]}}
  b: {command: [x], network_mode: "service:a", depends_on: {a: {condition: service_healthy}}}
`);
    expect(project!.services.b!.dependsOn.a!.condition).toBe('service_healthy');
  });

  test('host warns that isolation is off, and ports are discarded with a warning (host, none)', () => {
    const w = warnings(`services:
  a: {command: [x], network_mode: host, ports: ["8080:80"]}
  b: {command: [x], network_mode: none, ports: ["8081:80"]}
`);
    expect(w.map((d) => [d.code, d.path!.join('.')])).toEqual([
      ['PORTS_DISCARDED', 'services.a.ports'],
      ['ISOLATION_OFF', 'services.a.network_mode'],
      ['PORTS_DISCARDED', 'services.b.ports'],
    ]);
    const { project } = load(`services:\n  a: {command: [x], network_mode: host, ports: ["8080:80"]}\n`);
    expect(project!.services.a!.ports).toEqual([]);
  });
});

describe('network_mode: bad input, all at once with places', () => {
  test('networks beside network_mode, ports on a sharer, an unknown service, an unknown mode', () => {
    const e = errors(`services:
  web: {command: [x]}
  a: {command: [x], network_mode: "service:web", networks: [default]}
  b: {command: [x], network_mode: "service:web", ports: ["8080:80"]}
  c: {command: [x], network_mode: "service:wbe"}
  d: {command: [x], network_mode: bridged}
  e: {command: [x], network_mode: "container:abc"}
  f: {command: [x], network_mode: bridge}
  g: {command: [x], network_mode: "service:g"}
`);
    const byService = Object.fromEntries(e.map((d) => [d.path![1], d]));
    expect(byService.a).toMatchObject({ code: 'CONFLICT', path: ['services', 'a', 'network_mode'] });
    expect(byService.a!.message).toContain('mutually exclusive `network_mode` and `networks`');
    expect(byService.a!.location?.line).toBe(3);
    expect(byService.b).toMatchObject({ code: 'CONFLICT', path: ['services', 'b', 'ports'] });
    expect(byService.b!.hint).toContain('publish the ports on `web`');
    expect(byService.c).toMatchObject({ code: 'UNDEFINED_SERVICE', hint: 'did you mean `web`?' });
    expect(byService.d).toMatchObject({ code: 'BAD_VALUE', expected: 'none, host, service:NAME' });
    expect(byService.e).toMatchObject({ code: 'UNSUPPORTED_VALUE' });
    expect(byService.f!.hint).toContain('default network');
    expect(byService.g!.message).toContain('its own');
    expect(e).toHaveLength(7);
  });

  test('a sharing cycle is a dependency cycle', () => {
    const e = errors(`services:
  a: {command: [x], network_mode: "service:b"}
  b: {command: [x], pid: "service:a"}
`);
    expect(e.map((d) => d.code)).toContain('CYCLE');
  });

  test('a wrong type names the key', () => {
    const e = errors(`services:\n  a: {command: [x], network_mode: [host]}\n`);
    expect(e[0]!.path).toEqual(['services', 'a', 'network_mode']);
  });
});

describe('pid and ipc', () => {
  test('host and service:NAME; ipc shareable/private; the owner becomes a dependency', () => {
    const { project, diagnostics } = load(`services:
  a: {command: [x], ipc: shareable}
  b: {command: [x], pid: "service:a", ipc: "service:a"}
  c: {command: [x], pid: host, ipc: private}
`);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(diagnostics.filter((d) => d.code === 'ISOLATION_OFF').map((d) => d.path!.join('.'))).toEqual(['services.c.pid']);
    const s = project!.services;
    expect(s.b!.pidMode).toEqual({ kind: 'service', service: 'a' });
    expect(s.b!.ipcMode).toEqual({ kind: 'service', service: 'a' });
    expect(s.b!.dependsOn.a?.restart).toBe(true);
    expect(s.c!.pidMode).toEqual({ kind: 'host' });
    expect(s.c!.ipcMode).toEqual({ kind: 'private' });
    expect(s.a!.networks).toHaveProperty('default');
    expect(s.b!.networks).toHaveProperty('default');
  });

  test('joining a private IPC namespace, an unknown pid mode', () => {
    const e = errors(`services:
  a: {command: [x], ipc: private}
  b: {command: [x], ipc: "service:a", pid: shareable}
`);
    expect(e.map((d) => [d.code, d.path!.join('.')])).toEqual([
      ['BAD_VALUE', 'services.b.pid'],
      ['CONFLICT', 'services.b.ipc'],
    ]);
    expect(e[1]!.hint).toBe('give `a` `ipc: shareable`');
  });
});

describe('volumes_from', () => {
  test('SERVICE, service:SERVICE and :ro/:rw; the owner becomes a dependency (no restart)', () => {
    const { project, diagnostics } = load(`services:
  data: {command: [x]}
  app: {command: [x], volumes_from: [data, "service:data:ro"]}
`);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(project!.services.app!.volumesFrom).toEqual([
      { service: 'data', mode: 'rw' },
      { service: 'data', mode: 'ro' },
    ]);
    expect(project!.services.app!.dependsOn.data).toEqual({ condition: 'service_started', required: true, restart: false });
  });

  test('a container, an unknown service and a bad mode are errors at their entries', () => {
    const e = errors(`services:
  data: {command: [x]}
  app: {command: [x], volumes_from: ["container:abc", dtaa, "data:rx"]}
`);
    expect(e.map((d) => [d.code, d.path!.join('.')])).toEqual([
      ['UNSUPPORTED_VALUE', 'services.app.volumes_from.0'],
      ['BAD_VALUE', 'services.app.volumes_from.2'],
      ['UNDEFINED_SERVICE', 'services.app.volumes_from.1'],
    ]);
    expect(e[2]!.hint).toBe('did you mean `data`?');
  });
});

describe('stack config', () => {
  test('prints the modes as the spec writes them, and loads back to the same model', async () => {
    const { renderConfig } = await import('../../../src/spec/config-output.js');
    const { project } = load(`services:
  web: {command: [x], ipc: shareable}
  side: {command: [x], network_mode: "service:web", pid: "service:web", ipc: "service:web", volumes_from: ["web:ro"]}
  edge: {command: [x], network_mode: host}
`);
    const printed = renderConfig(project!);
    expect(printed).toContain('network_mode: service:web');
    expect(printed).toContain('network_mode: host');
    expect(printed).toContain('volumes_from:\n      - web:ro');
    const again = load(printed);
    expect(again.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const name of ['web', 'side', 'edge']) {
      const [a, b] = [project!.services[name]!, again.project!.services[name]!];
      expect([b.networkMode, b.pidMode, b.ipcMode, b.volumesFrom, b.networks, b.dependsOn]).toEqual([a.networkMode, a.pidMode, a.ipcMode, a.volumesFrom, a.networks, a.dependsOn]);
    }
  });
});

// `scale` and `deploy.replicas` as normalization reads them: the count the Service carries, the
// two agreeing (compose-go), and what N replicas cannot share refused at its key: a fixed
// container_name, a fixed host port (a host range for one container port and an ephemeral port
// are fine). The planner's expansion is tested in test/unit/planner/replicas.test.ts.
import { describe, expect, test } from 'vitest';
import { parseShortPort } from '../../../src/spec/ports.js';
import { loadWeb, web } from './web-spec.js';

function errors(body: string): string[] {
  const { structural, diagnostics } = loadWeb(body);
  return [...structural, ...diagnostics].filter((d) => d.severity === 'error').map((d) => `${d.code} ${(d.path ?? []).join('.')}`);
}

describe('scale and deploy.replicas', () => {
  test('either sets the count; absent, the Service has no scale field (its hash stays as it was)', () => {
    expect(web('scale: 3').scale).toBe(3);
    expect(web('deploy:\n  replicas: 2').scale).toBe(2);
    expect(web('scale: "4"').scale).toBe(4);
    expect(web('scale: 0').scale).toBe(0);
    expect(web('scale: 2\ndeploy: {replicas: 2}').scale).toBe(2);
    expect('scale' in web('init: false')).toBe(false);
  });
  test('both given and different: a CONFLICT at scale; a negative count: BAD_VALUE', () => {
    expect(errors('scale: 2\ndeploy: {replicas: 3}')).toEqual(['CONFLICT services.web.scale']);
    expect(errors('scale: -1')).toEqual(['BAD_VALUE services.web.scale']);
    expect(errors('deploy: {replicas: -2}')).toEqual(['BAD_VALUE services.web.deploy.replicas']);
    expect(errors('scale: many').every((e) => e.endsWith(' services.web.scale'))).toBe(true);
    expect(errors('scale: many').length).toBeGreaterThan(0);
  });
  test('a fixed container_name with more than one replica is an error at container_name', () => {
    expect(errors('scale: 2\ncontainer_name: fixed')).toEqual(['CONFLICT services.web.container_name']);
    expect(errors('scale: 1\ncontainer_name: fixed')).toEqual([]);
    expect(errors('scale: 2\nnetworks:\n  default:\n    ipv4_address: 10.0.0.5')).toContain('CONFLICT services.web.networks.default.ipv4_address');
    expect(errors('scale: 1\nnetworks:\n  default:\n    ipv4_address: 10.0.0.5')).not.toContain('CONFLICT services.web.networks.default.ipv4_address');
  });
  test('a fixed host port with more than one replica is an error at that port; a range or an ephemeral port is not', () => {
    expect(errors('scale: 3\nports: ["9000:80", "81", "8000-8002:82"]')).toEqual(['CONFLICT services.web.ports.0']);
    expect(errors('deploy: {replicas: 2}\nports: [{target: 80, published: 9000}]')).toEqual(['CONFLICT services.web.ports.0']);
    expect(errors('scale: 1\nports: ["9000:80"]')).toEqual([]);
  });
  test('a host range for one container port is one mapping over the range', () => {
    expect(parseShortPort('8000-8002:80')).toEqual({ ok: true, ports: [{ hostIp: '127.0.0.1', hostPort: 8000, hostPortEnd: 8002, containerPort: 80, protocol: 'tcp' }] });
    expect(parseShortPort('8000-8001:80-81')).toEqual({
      ok: true,
      ports: [
        { hostIp: '127.0.0.1', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      ],
    });
  });
  test('deploy.mode: replicated runs the count; global runs one (a count above 1 is a CONFLICT at it); the swarm jobs are refused at mode', () => {
    expect(web('deploy: {mode: replicated, replicas: 3}').scale).toBe(3);
    expect('global' in web('deploy: {mode: replicated}')).toBe(false);
    expect(web('deploy: {mode: global}')).toMatchObject({ global: true });
    expect('scale' in web('deploy: {mode: global}')).toBe(false);
    expect(web('deploy: {mode: global, replicas: 1}').scale).toBe(1);
    expect(web('scale: 0\ndeploy: {mode: global}').scale).toBe(0);
    expect(errors('deploy: {mode: global, replicas: 3}')).toEqual(['CONFLICT services.web.deploy.replicas']);
    expect(errors('scale: 2\ndeploy: {mode: global}')).toEqual(['CONFLICT services.web.scale']);
    expect(errors('deploy: {mode: replicated-job}')).toEqual(['UNSUPPORTED services.web.deploy.mode']);
    expect(errors('deploy: {mode: global-job}')).toEqual(['UNSUPPORTED services.web.deploy.mode']);
    expect(errors('deploy: {mode: everywhere}')).toEqual(['BAD_VALUE services.web.deploy.mode']);
  });
});

// The spec of a `stack run` one-off: overrides applied, no restart policy nor healthcheck, no
// ports unless asked, none of the service's names unless --use-aliases; names and -v/-p checked.
import { describe, expect, test } from 'vitest';
import { checkOneOffName, generatedName, oneOffService, parsePublishOptions, parseVolumeOption, type OneOffOverrides } from '../../../src/cli/commands/oneoff-spec.js';
import { ONE_OFF_LABEL } from '../../../src/planner/oneoff.js';
import { needs, project, service, volume } from '../planner/fixtures.js';

const web = service('web', {
  command: ['node', 'server.js'],
  entrypoint: null,
  environment: { A: '1', B: '2' },
  containerName: 'the-web',
  ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  networks: { default: { aliases: ['www'], ipv4Address: '10.0.0.5', priority: 0 } },
  dependsOn: needs('db'),
  restart: { kind: 'always' },
  healthcheck: { test: ['CMD', 'true'], intervalMs: 1000, timeoutMs: 1000, retries: 3, startPeriodMs: 0, startIntervalMs: 1000 },
});
const app = { ...project([service('db'), web], { volumes: [volume('cache')] }), workingDir: '/srv/app' };
const none: OneOffOverrides = { command: [], env: {}, volumes: [], publish: [], servicePorts: false, useAliases: false, noDeps: false };

describe('oneOffService', () => {
  test('keeps the service, drops what a one-off must not have', () => {
    const s = oneOffService(web, 'web-run-abcdef', none, []);
    expect(s.name).toBe('web-run-abcdef');
    expect(s.hostname).toBe('web-run-abcdef');
    expect(s.containerName).toBeUndefined();
    expect(s.command).toEqual(['node', 'server.js']);
    expect(s.ports).toEqual([]);
    expect(s.networks).toEqual({ default: { aliases: [], priority: 0 } });
    expect(s.restart).toEqual({ kind: 'no' });
    expect(s.healthcheck).toBeNull();
    expect(s.dependsOn).toEqual(web.dependsOn);
    expect(s.labels[ONE_OFF_LABEL]).toBe('web');
  });

  test('applies the overrides', () => {
    const s = oneOffService(
      web,
      'x',
      { ...none, command: ['sh', '-c', 'echo $A'], entrypoint: 'env "X=a b"', env: { B: '3' }, user: 'nobody', workingDir: '/tmp', publish: ['9000:90'], servicePorts: true, useAliases: true, noDeps: true },
      [{ type: 'volume', target: '/scratch', readOnly: false }],
    );
    expect(s.entrypoint).toEqual(['env', 'X=a b']);
    expect(s.command).toEqual(['sh', '-c', 'echo $A']);
    expect(s.environment).toEqual({ A: '1', B: '3' });
    expect(s.user).toBe('nobody');
    expect(s.workingDir).toBe('/tmp');
    expect(s.ports.map((p) => `${p.hostPort}:${p.containerPort}`)).toEqual(['8080:80', '9000:90']);
    expect(s.networks.default!.aliases).toEqual(['web', 'the-web', 'www']);
    expect(s.dependsOn).toEqual({});
    expect(s.volumes.at(-1)).toEqual({ type: 'volume', target: '/scratch', readOnly: false });
  });

  test('an entrypoint that does not split is a CLI error', () => {
    expect(() => oneOffService(web, 'x', { ...none, entrypoint: 'sh "' }, [])).toThrow(expect.objectContaining({ code: 'CLI_BAD_ARGUMENTS' }));
  });
});

describe('names and options', () => {
  test('generated names are <service>-run-<6 hex>', () => {
    expect(generatedName('web', Buffer.from([0xab, 0x01, 0xff]))).toBe('web-run-ab01ff');
  });

  test.each([
    ['bad name', '-x', 'CLI_BAD_ARGUMENTS'],
    ['a service', 'db', 'RUN_NAME_TAKEN'],
    ['a live one-off', 'web-run-000000', 'RUN_NAME_TAKEN'],
  ])('%s is refused', (_what, name, code) => {
    expect(() => checkOneOffName(name, app, ['web-run-000000'])).toThrow(expect.objectContaining({ code }));
  });

  test('-v: bind, named, anonymous; bad ones refused', () => {
    expect(parseVolumeOption('./data:/data:ro', app, {})).toEqual({ type: 'bind', source: '/srv/app/data', target: '/data', readOnly: true, createHostPath: true });
    expect(parseVolumeOption('cache:/cache', app, {})).toEqual({ type: 'volume', source: 'cache', target: '/cache', readOnly: false });
    expect(parseVolumeOption('/scratch', app, {})).toEqual({ type: 'volume', target: '/scratch', readOnly: false });
    for (const bad of ['nope:/x', 'rel', './a:/b:zz', 'a:b:c:d']) expect(() => parseVolumeOption(bad, app, {})).toThrow(expect.objectContaining({ code: 'CLI_BAD_ARGUMENTS' }));
  });

  test('-p: short syntax on 127.0.0.1 by default', () => {
    expect(parsePublishOptions(['8080:80', '0.0.0.0:53:53/udp'])).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 53, containerPort: 53, protocol: 'udp' },
    ]);
    expect(() => parsePublishOptions(['x'])).toThrow(expect.objectContaining({ code: 'CLI_BAD_ARGUMENTS' }));
  });
});

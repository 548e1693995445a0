import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KEYS, keyStatus, levelAt, type Level } from '../../../src/spec/keys.js';

const schemaFile = resolve(import.meta.dirname, '../../fixtures/corpus/compose-spec.schema.json');

describe('key catalogue', () => {
  test('levels are found by their place in the document', () => {
    expect(levelAt([])).toBe('top');
    expect(levelAt(['services', 'web'])).toBe('service');
    expect(levelAt(['services', 'web', 'ports', 0])).toBe('port');
    expect(levelAt(['networks', 'back', 'ipam', 'config', 1])).toBe('ipamConfig');
    expect(levelAt(['services', 'web', 'environment'])).toBeUndefined();
  });

  test('statuses follow the issues: image, pull_policy and build supported, secrets supported, blkio_config unsupported, tty supported, logging cosmetic', () => {
    expect(keyStatus('service', 'image')).toBe('supported');
    expect(keyStatus('service', 'pull_policy')).toBe('supported');
    expect(keyStatus('mountVolume', 'nocopy')).toBe('supported');
    expect(keyStatus('service', 'build')).toBe('supported');
    expect(keyStatus('build', 'dockerfile_inline')).toBe('supported');
    expect(keyStatus('build', 'ssh')).toBe('unsupported');
    expect(keyStatus('service', 'secrets')).toBe('supported');
    expect(keyStatus('service', 'blkio_config')).toBe('unsupported');
    expect(keyStatus('top', 'configs')).toBe('supported');
    expect(keyStatus('top', 'models')).toBe('unsupported');
    expect(keyStatus('service', 'tty')).toBe('supported');
    expect(keyStatus('service', 'logging')).toBe('cosmetic');
    expect(keyStatus('top', 'version')).toBe('cosmetic');
    expect(keyStatus('service', 'imagee')).toBeUndefined();
    expect(keyStatus('service', 'toString')).toBeUndefined();
  });

  // Every key the compose-spec defines must be catalogued, so that none is "unknown" by mistake.
  test('covers every key of the compose-spec JSON schema', () => {
    const spec = JSON.parse(readFileSync(schemaFile, 'utf8'));
    const defs = spec.definitions;
    const svc = defs.service.properties;
    const mount = svc.volumes.items.oneOf[1].properties;
    const sources: [Level, Record<string, unknown>][] = [
      ['top', spec.properties],
      ['service', svc],
      ['build', svc.build.oneOf[1].properties],
      ['extends', svc.extends.oneOf[1].properties],
      ['healthcheck', defs.healthcheck.properties],
      ['deploy', defs.deployment.properties],
      ['resources', defs.deployment.properties.resources.properties],
      ['limits', defs.deployment.properties.resources.properties.limits.properties],
      ['develop', defs.development.properties],
      ['watch', defs.development.properties.watch.items.properties],
      ['hook', defs.service_hook.properties],
      ['port', svc.ports.items.oneOf[2].properties],
      ['mount', mount],
      ['mountBind', mount.bind.properties],
      ['mountVolume', mount.volume.properties],
      ['mountTmpfs', mount.tmpfs.properties],
      ['serviceNetwork', svc.networks.oneOf[1].patternProperties['^[a-zA-Z0-9._-]+$'].oneOf[0].properties],
      ['dependency', svc.depends_on.oneOf[1].patternProperties['^[a-zA-Z0-9._-]+$'].properties],
      ['envFile', defs.env_file.oneOf[1].items.oneOf[1].properties],
      ['network', defs.network.properties],
      ['ipam', defs.network.properties.ipam.properties],
      ['ipamConfig', defs.network.properties.ipam.properties.config.items.properties],
      ['volume', defs.volume.properties],
    ];
    const missing = sources.flatMap(([level, props]) => Object.keys(props).filter((k) => !(k in KEYS[level])).map((k) => `${level}.${k}`));
    expect(missing).toEqual([]);
  });
});

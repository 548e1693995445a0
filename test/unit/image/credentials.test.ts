// Docker config.json `auths`: base64 user:password per registry, Docker Hub's index URL key, bad files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerConfigCredentials, dockerConfigPath } from '../../../src/image/credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let dir: string | undefined;
const file = (content: string) => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'stack-creds-'));
  const f = path.join(dir, 'config.json');
  writeFileSync(f, content);
  return f;
};
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('dockerConfigCredentials', () => {
  it('decodes auths entries, Docker Hub under its index URL, passwords with colons', () => {
    const f = file(JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') }, 'ghcr.io': { auth: b64('me:a:b') } } }));
    expect(dockerConfigCredentials('docker.io', f)).toEqual({ username: 'hub', password: 'pw' });
    expect(dockerConfigCredentials('ghcr.io', f)).toEqual({ username: 'me', password: 'a:b' });
    expect(dockerConfigCredentials('quay.io', f)).toBeUndefined();
  });

  it('has none for a missing file or no auths, and refuses a broken one with REGISTRY_CREDENTIALS', () => {
    expect(dockerConfigCredentials('ghcr.io', '/nonexistent/config.json')).toBeUndefined();
    expect(dockerConfigCredentials('ghcr.io', file('{"credsStore":"desktop"}'))).toBeUndefined();
    expect(() => dockerConfigCredentials('ghcr.io', file('{nope'))).toThrow(expect.objectContaining({ code: 'REGISTRY_CREDENTIALS' }));
    expect(() => dockerConfigCredentials('ghcr.io', file(JSON.stringify({ auths: { 'ghcr.io': { auth: b64('nocolon') } } })))).toThrow(
      expect.objectContaining({ code: 'REGISTRY_CREDENTIALS' }),
    );
  });

  it('finds the file through DOCKER_CONFIG or the home directory', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/d' }, '/home/u')).toBe('/etc/d/config.json');
    expect(dockerConfigPath({}, '/home/u')).toBe('/home/u/.docker/config.json');
  });
});

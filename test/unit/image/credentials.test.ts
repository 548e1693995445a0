// Docker config.json `auths`: base64 user:password per registry, Docker Hub's index URL key, bad files;
// credHelpers and credsStore with a real helper script; podman's auth.json files; the sudo invoker's home.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialFiles, credentialsHome, dockerConfigCredentials, dockerConfigPath, findCredentials, passwdHome } from '../../../src/image/credentials.js';
import type { UserError } from '../../../src/errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
// Every folder a test made (a test may write several files): all removed after it.
const dirs: string[] = [];
const file = (content: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-creds-'));
  dirs.push(dir);
  const f = path.join(dir, 'config.json');
  writeFileSync(f, content);
  return f;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
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

// A real credential helper: a shell script docker-credential-test first on the PATH given to the call.
const HELPER = `#!/bin/sh
[ "$1" = get ] || { echo "unexpected $1" >&2; exit 2; }
read -r url
case "$url" in
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper pw"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"hub","Secret":"hubpw"}' ;;
  tok.example) echo '{"Username":"<token>","Secret":"refresh"}' ;;
  broken.example) echo 'gibberish' ;;
  fail.example) echo 'keychain locked' >&2; exit 3 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`;

describe('credential helpers and the files Docker and podman read', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  const json = (f: string, v: unknown) => {
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, JSON.stringify(v));
    return f;
  };
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'stack-creds-helper-'));
    mkdirSync(path.join(root, 'bin'));
    writeFileSync(path.join(root, 'bin', 'docker-credential-test'), HELPER, { mode: 0o755 });
    env = { PATH: `${path.join(root, 'bin')}:${process.env.PATH}`, HOME: path.join(root, 'home') };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('asks the credHelpers helper of the registry, and auths for the others', () => {
    const f = json(path.join(root, 'c.json'), { credHelpers: { 'ghcr.io': 'test', 'fail.example': 'test' }, auths: { 'ghcr.io': { auth: b64('file:pw') }, 'quay.io': { auth: b64('q:pw') } } });
    expect(dockerConfigCredentials('ghcr.io', f, env)).toEqual({ username: 'helper-user', password: 'helper pw' });
    expect(dockerConfigCredentials('quay.io', f, env)).toEqual({ username: 'q', password: 'pw' });
    // Without the helper's directory on PATH the helper is missing: an error naming it.
    expect(() => dockerConfigCredentials('ghcr.io', f, { PATH: '/usr/bin:/bin' })).toThrow(/docker-credential-test .*is not installed/);
  });

  it('asks the credsStore helper for every registry (Docker Hub by its index URL); none found is anonymous', () => {
    const f = json(path.join(root, 'c.json'), { credsStore: 'test', auths: { 'other.example': { auth: b64('o:pw') } } });
    expect(dockerConfigCredentials('docker.io', f, env)).toEqual({ username: 'hub', password: 'hubpw' });
    expect(dockerConfigCredentials('ghcr.io', f, env)).toEqual({ username: 'helper-user', password: 'helper pw' });
    expect(dockerConfigCredentials('quay.io', f, env)).toBeUndefined();
    // As Docker does: with a store, auths entries are not consulted.
    expect(dockerConfigCredentials('other.example', f, env)).toBeUndefined();
    // A store that is not installed means no credentials.
    expect(dockerConfigCredentials('ghcr.io', json(path.join(root, 'd.json'), { credsStore: 'absent-store' }), env)).toBeUndefined();
  });

  it('refuses a failing helper, a non-JSON answer, an identity token and a bad helper name, naming the helper', () => {
    const f = json(path.join(root, 'c.json'), { credsStore: 'test' });
    const err = (registry: string, file = f) => {
      try {
        dockerConfigCredentials(registry, file, env);
      } catch (e) {
        return e as UserError;
      }
      throw new Error('no error');
    };
    expect(err('fail.example')).toMatchObject({ code: 'REGISTRY_CREDENTIALS', message: expect.stringMatching(/docker-credential-test .*failed \(keychain locked\) for fail\.example/) });
    expect(err('broken.example')).toMatchObject({ code: 'REGISTRY_CREDENTIALS', message: expect.stringMatching(/docker-credential-test .*not JSON/) });
    expect(err('tok.example')).toMatchObject({ code: 'REGISTRY_CREDENTIALS', message: expect.stringMatching(/docker-credential-test .*identity token/) });
    expect(err('ghcr.io', json(path.join(root, 'e.json'), { credsStore: '../../bin/sh' }))).toMatchObject({ code: 'REGISTRY_CREDENTIALS', message: expect.stringContaining('invalid credential helper') });
  });

  it('reads Docker config, then XDG_RUNTIME_DIR and ~/.config auth.json; REGISTRY_AUTH_FILE alone when set', () => {
    const home = path.join(root, 'home');
    const run = path.join(root, 'run');
    json(path.join(home, '.docker', 'config.json'), { auths: { 'a.example': { auth: b64('docker:a') } } });
    json(path.join(run, 'containers', 'auth.json'), { auths: { 'a.example': { auth: b64('xdg:a') }, 'b.example': { auth: b64('xdg:b') } } });
    const conf = json(path.join(home, '.config', 'containers', 'auth.json'), { auths: { 'b.example': { auth: b64('conf:b') }, 'c.example': { auth: b64('conf:c') } }, credHelpers: { 'ghcr.io': 'test' } });
    const sources = { env: { ...env, XDG_RUNTIME_DIR: run }, home };
    expect(credentialFiles(sources)).toEqual([path.join(home, '.docker', 'config.json'), path.join(run, 'containers', 'auth.json'), conf]);
    expect(findCredentials('a.example', sources)).toEqual({ username: 'docker', password: 'a' });
    expect(findCredentials('b.example', sources)).toEqual({ username: 'xdg', password: 'b' });
    expect(findCredentials('c.example', sources)).toEqual({ username: 'conf', password: 'c' });
    expect(findCredentials('ghcr.io', sources)).toEqual({ username: 'helper-user', password: 'helper pw' });
    expect(findCredentials('d.example', sources)).toBeUndefined();
    const only = { env: { ...sources.env, REGISTRY_AUTH_FILE: conf }, home };
    expect(credentialFiles(only)).toEqual([conf]);
    expect(findCredentials('a.example', only)).toBeUndefined();
    expect(findCredentials('c.example', only)).toEqual({ username: 'conf', password: 'c' });
  });

  it("under sudo reads the invoking user's home from the passwd file", () => {
    const passwd = path.join(root, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n');
    expect(passwdHome('alice', passwd)).toBe('/home/alice');
    expect(passwdHome('nobody-here', passwd)).toBeUndefined();
    const asRoot = process.getuid?.() === 0;
    expect(credentialsHome({ SUDO_USER: 'alice', HOME: '/root' }, passwd)).toBe(asRoot ? '/home/alice' : '/root');
    expect(credentialsHome({ SUDO_USER: 'nobody-here', HOME: '/root' }, passwd)).toBe('/root');
    expect(credentialsHome({ HOME: '/home/me' }, passwd)).toBe('/home/me');
    if (asRoot) expect(credentialFiles({ env: { SUDO_USER: 'alice', HOME: '/root' }, passwdFile: passwd })[0]).toBe('/home/alice/.docker/config.json');
  });
});

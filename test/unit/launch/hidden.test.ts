// What a service's view hides, computed over a fake host root in a temp folder (no mounts):
// every passwd home but the ones that are no one's folder, system users' included; the
// credential names in each; the host's secrets; only what exists.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hiddenPaths, homeFolders } from '../../../src/runtime/hidden.js';
import type { UserDb } from '../../../src/runtime/user.js';

const user = (name: string, uid: number, home: string) => ({ name, uid, gid: uid, home });
const userDb: UserDb = {
  passwd: [
    user('root', 0, '/root'),
    user('daemon', 1, '/usr/sbin'),
    user('bin', 2, '/bin'),
    user('sys', 3, '/dev'),
    user('ircd', 39, '/run/ircd'),
    user('nobody', 65534, '/nonexistent'),
    user('systemd-network', 998, '/'),
    user('postgres', 101, '/var/lib/postgresql'),
    user('jenkins', 120, '/var/lib/jenkins/'),
    user('www-data', 33, '/var/www'),
    user('alice', 1000, '/home/alice'),
  ],
  group: [],
};

describe('hidden paths', () => {
  let root: string;
  const roots = { run: '/run/stack', lib: '/var/lib/stack' };
  const files = [
    '/var/lib/postgresql/.pgpass',
    '/var/lib/jenkins/.ssh/id_rsa',
    '/root/.config/containers/auth.json',
    '/home/alice/.mozilla/firefox/profiles.ini',
    '/home/alice/.config/google-chrome/Default/Cookies',
    '/home/alice/.nvm/nvm.sh',
    '/home/alice/.config/containers/storage.conf',
    '/etc/kubernetes/admin.conf',
    '/etc/letsencrypt/live/x/privkey.pem',
    '/etc/NetworkManager/system-connections/wifi.nmconnection',
    '/etc/krb5.keytab',
    '/var/lib/docker/volumes/x/_data/secret',
    '/var/lib/kubelet/pki/kubelet.key',
    '/usr/sbin/.ssh/x',
  ];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'stack-hidden-'));
    for (const f of files) {
      mkdirSync(join(root, dirname(f)), { recursive: true });
      writeFileSync(join(root, f), 'x');
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('searches every passwd home, system users\' too, but not /, binaries folders, /nonexistent, nor homes under /run or /dev', () => {
    const homes = homeFolders({ roots, root, userDb, env: {} });
    expect(homes).toEqual(['/home/alice', '/root', '/var/lib/jenkins', '/var/lib/postgresql', '/var/www']);
  });

  it('hides the credentials in each home and the host\'s secrets that exist, and leaves toolchains and other config', () => {
    const hidden = hiddenPaths({ roots, root, userDb, env: {} });
    expect(hidden).toEqual([
      '/etc/NetworkManager/system-connections',
      '/etc/krb5.keytab',
      '/etc/kubernetes',
      '/etc/letsencrypt',
      '/home/alice/.config/google-chrome',
      '/home/alice/.mozilla',
      '/root/.config/containers/auth.json',
      '/var/lib/docker',
      '/var/lib/jenkins/.ssh',
      '/var/lib/kubelet',
      '/var/lib/postgresql/.pgpass',
    ]);
  });
});

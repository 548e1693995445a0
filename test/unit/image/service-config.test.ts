// The image config honoured as Docker does: entrypoint/command overrides, Env under the spec,
// WorkingDir, User (resolved in the image root, never the host's), StopSignal, Healthcheck,
// anonymous Volumes and ExposedPorts; hostile configs and roots refused with a UserError.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { loadImageUserDb, resolveImageUser, resolveInRoot } from '../../../src/image/image-user.js';
import {
  anonymousVolumeTargets, DEFAULT_PATH, effectiveCommand, effectiveEnvironment, effectiveHealthcheck, effectiveStopSignal,
  effectiveUser, effectiveWorkingDir, exposedPorts, imageHealthcheck, type RunConfig,
} from '../../../src/image/service-config.js';
import type { Healthcheck, Mount } from '../../../src/spec/project.js';

const postgres: RunConfig = {
  Entrypoint: ['docker-entrypoint.sh'], Cmd: ['postgres'],
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/16/bin', 'PGDATA=/var/lib/postgresql/data', 'LANG=en_US.utf8'],
  StopSignal: 'SIGINT', Volumes: { '/var/lib/postgresql/data': {} }, ExposedPorts: { '5432/tcp': {} },
};
const redis: RunConfig = {
  Entrypoint: ['docker-entrypoint.sh'], Cmd: ['redis-server'], WorkingDir: '/data',
  Volumes: { '/data': {} }, ExposedPorts: { '6379/tcp': {} }, Env: ['PATH=/usr/bin:/bin', 'REDIS_VERSION=7.2.4'],
};
// Made up: runs as a named user, healthchecks itself, no Entrypoint.
const app: RunConfig = {
  Cmd: ['/srv/app', '--serve'], User: 'app:staff', WorkingDir: '/srv/', StopSignal: 'QUIT',
  Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 5_000_000_000, Timeout: 2_000_000_000, StartPeriod: 0, Retries: 4 },
  ExposedPorts: { '8080/tcp': {}, '53/udp': {}, '9000': {}, 'junk/tcp': {}, '70000/tcp': {} },
};

const svc = (entrypoint: string[] | null, command: string[] | null) => ({ name: 'db', entrypoint, command });

describe('effectiveCommand', () => {
  const rows: [string, RunConfig, string[] | null, string[] | null, string[]][] = [
    ['neither: image Entrypoint + Cmd', postgres, null, null, ['docker-entrypoint.sh', 'postgres']],
    ['command replaces Cmd only', postgres, null, ['postgres', '-c', 'fsync=off'], ['docker-entrypoint.sh', 'postgres', '-c', 'fsync=off']],
    ['entrypoint replaces Entrypoint and drops Cmd', postgres, ['/bin/sh'], null, ['/bin/sh']],
    ['entrypoint and command: both from the spec', postgres, ['/bin/sh', '-c'], ['echo hi'], ['/bin/sh', '-c', 'echo hi']],
    ['entrypoint [] removes Entrypoint, keeps Cmd', redis, [], null, ['redis-server']],
    ['entrypoint [] and a command', redis, [], ['redis-cli', 'ping'], ['redis-cli', 'ping']],
    ['command [] is as none', redis, null, [], ['docker-entrypoint.sh', 'redis-server']],
    ['no Entrypoint in the image', app, null, null, ['/srv/app', '--serve']],
    ['no Entrypoint, command given', app, null, ['/srv/app', '--check'], ['/srv/app', '--check']],
  ];
  it.each(rows)('%s', (_, config, entrypoint, command, argv) => {
    expect(effectiveCommand(svc(entrypoint, command), config, 'img').argv).toEqual(argv);
  });

  it('splits entrypoint and command as Docker records them', () => {
    expect(effectiveCommand(svc(['/bin/sh'], null), postgres, 'postgres:16')).toEqual({ entrypoint: ['/bin/sh'], command: [], argv: ['/bin/sh'] });
  });

  it.each([
    ['an image with nothing to run', {}, null, null],
    ['no config at all', null, null, null],
    ['entrypoint [] on an image with only an Entrypoint', { Entrypoint: ['/x'] }, [], null],
    ['an empty program name', { Cmd: [''] }, null, null],
  ] as [string, RunConfig | null, string[] | null, string[] | null][])('NO_COMMAND for %s, naming service and image', (_, config, e, c) => {
    expect(() => effectiveCommand(svc(e, c), config, 'scratch-thing:1')).toThrow(expect.objectContaining({
      code: 'NO_COMMAND', message: expect.stringMatching(/service "db".*scratch-thing:1/) as unknown,
    }) as Error);
  });
});

describe('effectiveEnvironment', () => {
  it('overlays the spec on the image, the spec winning; PATH from the image', () => {
    const env = effectiveEnvironment({ PGDATA: '/pg', POSTGRES_PASSWORD: 'x' }, postgres, 'postgres:16');
    expect(env).toEqual({ PATH: postgres.Env![0]!.slice(5), PGDATA: '/pg', LANG: 'en_US.utf8', POSTGRES_PASSWORD: 'x' });
  });

  it('keeps the spec PATH, and gives Docker default PATH when neither has one', () => {
    expect(effectiveEnvironment({ PATH: '/mine' }, postgres, 'p').PATH).toBe('/mine');
    expect(effectiveEnvironment({}, { Env: ['A=1'] }, 'p')).toEqual({ A: '1', PATH: DEFAULT_PATH });
    expect(effectiveEnvironment({}, null, 'p')).toEqual({ PATH: DEFAULT_PATH });
  });

  it('keeps "=" inside values, drops entries without a key, refuses a NUL byte', () => {
    expect(effectiveEnvironment({}, { Env: ['A=b=c', 'NOEQUALS', '=x', 'E='] }, 'p')).toEqual({ A: 'b=c', E: '', PATH: DEFAULT_PATH });
    expect(() => effectiveEnvironment({}, { Env: ['A=x\0y'] }, 'evil:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_CONFIG', message: expect.stringContaining('evil:1') as unknown }) as Error);
  });

  it('takes a huge Env (200k entries, one key repeated) without quadratic work: the last wins', () => {
    const Env = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? `K${i}=${i}` : `SAME=${i}`));
    const env = effectiveEnvironment({ K1: 'spec' }, { Env }, 'big:1');
    expect(Object.keys(env)).toHaveLength(100_000 + 2);
    expect(env.SAME).toBe('199998');
    expect(env.K1).toBe('spec');
  });
});

describe('workingDir, user, stop signal', () => {
  it('working dir: spec, else image (normalized), else /; a relative image one refused', () => {
    expect(effectiveWorkingDir('/w', redis, 'r')).toBe('/w');
    expect(effectiveWorkingDir(undefined, redis, 'r')).toBe('/data');
    expect(effectiveWorkingDir(undefined, app, 'r')).toBe('/srv/');
    expect(effectiveWorkingDir(undefined, postgres, 'r')).toBe('/');
    expect(() => effectiveWorkingDir(undefined, { WorkingDir: 'data' }, 'r:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_CONFIG' }) as Error);
  });

  it('user: spec, else image, else undefined (root)', () => {
    expect(effectiveUser('1000', app)).toBe('1000');
    expect(effectiveUser(undefined, app)).toBe('app:staff');
    expect(effectiveUser(undefined, { User: '' })).toBeUndefined();
    expect(effectiveUser(undefined, null)).toBeUndefined();
  });

  it.each([
    [undefined, postgres, 'SIGINT'], ['SIGTERM', postgres, 'SIGTERM'], [undefined, app, 'SIGQUIT'],
    [undefined, redis, 'SIGTERM'], [undefined, { StopSignal: '9' }, 'SIGKILL'], [undefined, { StopSignal: 'sigusr1' }, 'SIGUSR1'],
  ] as [string | undefined, RunConfig, string][])('stop signal %s over %o → %s', (spec, config, expected) => {
    expect(effectiveStopSignal(spec, config, 'i')).toBe(expected);
  });

  it('refuses a StopSignal that is not a signal', () => {
    for (const s of ['SIGNOPE', '999', 'constructor', '__proto__']) {
      expect(() => effectiveStopSignal(undefined, { StopSignal: s }, 'i:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_CONFIG' }) as Error);
    }
  });
});

describe('healthcheck', () => {
  const spec: Healthcheck = { test: ['CMD', 'true'], intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0, startIntervalMs: 5000 };

  it('converts Docker nanoseconds to the spec model, zero taking the defaults', () => {
    expect(imageHealthcheck(app, 'a')).toEqual({
      test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], intervalMs: 5000, timeoutMs: 2000, retries: 4, startPeriodMs: 0, startIntervalMs: 5000,
    });
    expect(imageHealthcheck({ Healthcheck: { Test: ['CMD', 'pg_isready', '-U', 'x'] } }, 'a')).toEqual({
      test: ['CMD', 'pg_isready', '-U', 'x'], intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5000,
    });
  });

  it('NONE, an empty Test or no Healthcheck → none; a bad Test refused', () => {
    expect(imageHealthcheck({ Healthcheck: { Test: ['NONE'] } }, 'a')).toBeNull();
    expect(imageHealthcheck({ Healthcheck: { Test: [] } }, 'a')).toBeNull();
    expect(imageHealthcheck(postgres, 'a')).toBeNull();
    for (const Test of [['CMD'], ['CMD', ''], ['SHELL', 'x'], ['CMD-SHELL']]) {
      expect(() => imageHealthcheck({ Healthcheck: { Test } }, 'h:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_CONFIG' }) as Error);
    }
  });

  it("the spec's wins; a spec that disables wins over the image's; otherwise the image's", () => {
    expect(effectiveHealthcheck(spec, false, app, 'a')).toBe(spec);
    expect(effectiveHealthcheck(null, true, app, 'a')).toBeNull();
    expect(effectiveHealthcheck(null, false, app, 'a')?.test[0]).toBe('CMD-SHELL');
  });
});

describe('anonymousVolumeTargets and exposedPorts', () => {
  const named: Mount = { type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data/', readOnly: false };
  it('makes an anonymous volume of each image volume no spec mount covers', () => {
    expect(anonymousVolumeTargets([], postgres, 'p')).toEqual(['/var/lib/postgresql/data']);
    expect(anonymousVolumeTargets([named], postgres, 'p')).toEqual([]);
    expect(anonymousVolumeTargets([{ type: 'tmpfs', target: '/data', readOnly: false }], redis, 'r')).toEqual([]);
    expect(anonymousVolumeTargets([named], { Volumes: { '/b/': {}, '/a': {}, '/b': {} } }, 'x')).toEqual(['/a', '/b']);
    expect(anonymousVolumeTargets([], null, 'x')).toEqual([]);
  });

  it('refuses relative, NUL and root volume paths', () => {
    for (const v of ['data', '/a\0b', '/', '/x/..']) {
      expect(() => anonymousVolumeTargets([], { Volumes: { [v]: {} } }, 'v:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_CONFIG' }) as Error);
    }
  });

  it('lists ExposedPorts, tcp by default, junk left out', () => {
    expect(exposedPorts(postgres)).toEqual([{ port: 5432, protocol: 'tcp' }]);
    expect(exposedPorts(app)).toEqual([{ port: 53, protocol: 'udp' }, { port: 8080, protocol: 'tcp' }, { port: 9000, protocol: 'tcp' }]);
    expect(exposedPorts(null)).toEqual([]);
  });
});

describe('users resolved in the image root', () => {
  let dir: string;
  let root: string;
  const hostFile = () => join(dir, 'host-passwd');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-image-user-'));
    root = join(dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/srv:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\napp:x:1002:\nextra:x:2000:app\n');
    writeFileSync(hostFile(), 'hostonly:x:4242:4242::/:/bin/sh\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A second root whose /etc/passwd is whatever `make` puts there. */
  const rootWith = (name: string, make: (etc: string) => void): string => {
    const r = join(dir, name);
    mkdirSync(join(r, 'etc'), { recursive: true });
    make(join(r, 'etc'));
    return r;
  };

  it('resolves names, name:group, uid and uid:gid', () => {
    expect(resolveImageUser('web', 'app:1', 'app', root)).toEqual({ uid: 1001, gid: 1002, groups: [2000] });
    expect(resolveImageUser('web', 'app:1', 'app:staff', root)).toEqual({ uid: 1001, gid: 50, groups: [] });
    expect(resolveImageUser('web', 'app:1', '999', root)).toEqual({ uid: 999, gid: 999, groups: [] });
    expect(resolveImageUser('web', 'app:1', '1234:5678', join(dir, 'nowhere'))).toEqual({ uid: 1234, gid: 5678, groups: [] });
    expect(resolveImageUser('web', 'app:1', undefined, root)).toEqual({ uid: 0, gid: 0, groups: [] });
  });

  it('an unknown name names the image and its file, not the host', () => {
    expect(() => resolveImageUser('web', 'app:1', 'nobody-here', root)).toThrow(expect.objectContaining({
      code: 'USER_UNKNOWN', message: 'service "web": user "nobody-here" is not in the /etc/passwd of image app:1',
    }) as Error);
    expect(() => resolveImageUser('web', 'app:1', 'app:wheel', root)).toThrow(expect.objectContaining({ code: 'GROUP_UNKNOWN', message: expect.stringContaining('/etc/group of image app:1') as unknown }) as Error);
  });

  it('an absolute symlink to a host file resolves inside the root: the host user is never seen', () => {
    const r = rootWith('abs-link', (etc) => symlinkSync(hostFile(), join(etc, 'passwd')));
    expect(resolveInRoot(r, '/etc/passwd', 'i')).toBeUndefined();
    expect(() => resolveImageUser('web', 'evil:1', 'hostonly', r)).toThrow(expect.objectContaining({ code: 'USER_UNKNOWN' }) as Error);
  });

  it('a relative symlink climbing out with .. stays in the root', () => {
    const rel = join('..', '..', '..', '..', '..', '..', '..', '..', hostFile());
    const r = rootWith('dotdot-link', (etc) => symlinkSync(rel, join(etc, 'passwd')));
    expect(() => resolveImageUser('web', 'evil:1', 'hostonly', r)).toThrow(expect.objectContaining({ code: 'USER_UNKNOWN' }) as Error);
  });

  it('a symlinked /etc is resolved in the root: aimed at a host folder it finds nothing, aimed at /etc it loops', () => {
    mkdirSync(join(dir, 'host-etc'));
    writeFileSync(join(dir, 'host-etc', 'passwd'), 'hostonly:x:4242:4242::/:/bin/sh\n');
    const r = join(dir, 'etc-link');
    mkdirSync(r);
    symlinkSync(join(dir, 'host-etc'), join(r, 'etc'));
    expect(loadImageUserDb(r, 'evil:1')).toEqual({ passwd: [], group: [] });
    const self = join(dir, 'etc-self');
    mkdirSync(self);
    symlinkSync('/etc', join(self, 'etc'));
    expect(() => loadImageUserDb(self, 'evil:1')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_FILE' }) as Error);
  });

  it('a symlink inside the root is followed', () => {
    const r = rootWith('inner-link', (etc) => {
      mkdirSync(join(etc, '..', 'usr', 'share'), { recursive: true });
      writeFileSync(join(etc, '..', 'usr', 'share', 'passwd'), 'svc:x:77:88::/:/bin/sh\n');
      symlinkSync('/usr/share/passwd', join(etc, 'passwd'));
    });
    expect(resolveImageUser('web', 'i:1', 'svc', r)).toEqual({ uid: 77, gid: 88, groups: [] });
  });

  it('refuses a symlink loop, a directory and a FIFO-like non-file as BAD_IMAGE_FILE', () => {
    const loop = rootWith('loop', (etc) => symlinkSync('/etc/passwd', join(etc, 'passwd')));
    expect(() => resolveImageUser('web', 'evil:1', 'app', loop)).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_FILE', message: expect.stringContaining('evil:1') as unknown }) as Error);
    const dirRoot = rootWith('dir', (etc) => mkdirSync(join(etc, 'passwd')));
    expect(() => resolveImageUser('web', 'evil:1', 'app', dirRoot)).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_FILE' }) as Error);
  });

  it('never throws anything but a UserError on a hostile root', () => {
    const roots = ['abs-link', 'loop', 'dir', 'etc-link', 'etc-self'].map((n) => join(dir, n));
    for (const r of roots) expect(() => resolveImageUser('web', 'evil:1', 'someone', r)).toThrow(UserError);
  });
});

import { describe, expect, it } from 'vitest';
import { commandOf, decodeLaunchRequest, DEFAULT_LOG_ROTATION, encodeLaunchRequest, launchRequest } from '../../../src/runtime/launcher-config.js';
import { testService } from '../../fixtures/launch/service.js';

describe('launch request', () => {
  it('carries everything the launcher needs, environment and argv verbatim', () => {
    const service = testService({
      name: 'web',
      hostname: 'web-1',
      entrypoint: ['/usr/bin/env'],
      command: ['--', 'a b', ''],
      environment: { PATH: '/opt/bin', MULTI: 'line1\nline2', EMPTY: '' },
      workingDir: '/srv',
      init: true,
    });
    const pairs = launchRequest({
      service,
      argv: commandOf(service),
      identity: { uid: 105, gid: 110, groups: [29, 108] },
      caps: 0xa80425fbn,
      cgroupDirs: ['/sys/fs/cgroup/memory/stack/p/web', '/sys/fs/cgroup/pids/stack/p/web'],
      oomEventsFile: '/sys/fs/cgroup/memory/stack/p/web/memory.oom_control',
      netns: '/run/netns/stk-p-web',
      logPath: '/run/stack/p/web.log',
      exitPath: '/run/stack/p/web.exit',
      logRotation: DEFAULT_LOG_ROTATION,
    });
    expect(decodeLaunchRequest(encodeLaunchRequest(pairs))).toEqual(pairs);
    expect(pairs).toMatchInlineSnapshot(`
      [
        [
          "name",
          "web",
        ],
        [
          "log",
          "/run/stack/p/web.log",
        ],
        [
          "log_max_bytes",
          "10485760",
        ],
        [
          "log_max_files",
          "3",
        ],
        [
          "exit",
          "/run/stack/p/web.exit",
        ],
        [
          "hostname",
          "web-1",
        ],
        [
          "cwd",
          "/srv",
        ],
        [
          "uid",
          "105",
        ],
        [
          "gid",
          "110",
        ],
        [
          "caps",
          "a80425fb",
        ],
        [
          "search_path",
          "/opt/bin",
        ],
        [
          "netns",
          "/run/netns/stk-p-web",
        ],
        [
          "init",
          "1",
        ],
        [
          "oom_events",
          "/sys/fs/cgroup/memory/stack/p/web/memory.oom_control",
        ],
        [
          "cgroup",
          "/sys/fs/cgroup/memory/stack/p/web",
        ],
        [
          "cgroup",
          "/sys/fs/cgroup/pids/stack/p/web",
        ],
        [
          "group",
          "29",
        ],
        [
          "group",
          "108",
        ],
        [
          "env",
          "PATH=/opt/bin",
        ],
        [
          "env",
          "MULTI=line1
      line2",
        ],
        [
          "env",
          "EMPTY=",
        ],
        [
          "arg",
          "/usr/bin/env",
        ],
        [
          "arg",
          "--",
        ],
        [
          "arg",
          "a b",
        ],
        [
          "arg",
          "",
        ],
      ]
    `);
  });

  it('a service without entrypoint and command is a UserError', () => {
    expect(() => commandOf(testService({ command: null }))).toThrowError(expect.objectContaining({ code: 'NO_COMMAND' }));
  });

  it('a NUL byte cannot reach the launcher', () => {
    const service = testService({ command: ['true'], environment: { A: 'x\0y' } });
    expect(() =>
      launchRequest({ service, argv: ['true'], identity: { uid: 0, gid: 0, groups: [] }, caps: 0n, cgroupDirs: [], netns: 'host', logPath: '/l', exitPath: '/e', logRotation: DEFAULT_LOG_ROTATION }),
    ).toThrowError(expect.objectContaining({ code: 'NUL_IN_VALUE' }));
  });

  it('init: false sends no init key (the workload is pid 1)', () => {
    const service = testService({ command: ['true'] });
    const pairs = launchRequest({ service, argv: ['true'], identity: { uid: 0, gid: 0, groups: [] }, caps: 0n, cgroupDirs: [], netns: 'host', logPath: '/l', exitPath: '/e', logRotation: DEFAULT_LOG_ROTATION });
    expect(pairs.map(([k]) => k)).not.toContain('init');
  });
});

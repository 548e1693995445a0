import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { normalize } from '../../../src/spec/normalize.js';
import type { Service } from '../../../src/spec/project.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

const fixtures = resolve(import.meta.dirname, '../../fixtures/spec-validate');

function load(yaml: string, opts: { profiles?: string[]; targets?: string[]; env?: Record<string, string>; workingDir?: string } = {}) {
  const raw = rawSpec(yaml, { env: opts.env ?? {}, workingDir: opts.workingDir ?? '/proj' });
  const structural = validate(raw).filter((d) => d.severity === 'error');
  expect(structural).toEqual([]);
  return normalize(raw, { profiles: opts.profiles ?? [], ...(opts.targets && { targets: opts.targets }) });
}

/** The single service `web` of a spec that only sets `body` on it. */
function web(body: string, opts: Parameters<typeof load>[1] = {}): Service {
  const { project, diagnostics } = load(`services:\n  web:\n${body.replace(/^/gm, '    ')}\n`, opts);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return project.services.web!;
}

function errorsOf(yaml: string, opts: Parameters<typeof load>[1] = {}) {
  return load(yaml, opts).diagnostics.filter((d) => d.severity === 'error');
}

describe('defaults', () => {
  test('a bare service is fully defaulted', () => {
    const s = web('command: ["sleep", "1"]');
    expect(s).toEqual({
      name: 'web',
      entrypoint: null,
      command: ['sleep', '1'],
      environment: {},
      hostname: 'web',
      ports: [],
      expose: [],
      volumes: [],
      networks: { default: { aliases: [], priority: 0 } },
      extraHosts: [],
      dependsOn: {},
      healthcheck: null,
      healthcheckDisabled: false,
      restart: { kind: 'no' },
      stopSignal: 'SIGTERM',
      stopSignalSet: false,
      stopGracePeriodMs: 10_000,
      init: false,
      readOnly: false,
      capAdd: [],
      capDrop: [],
      privileged: false,
      devices: [],
      securityOpt: [],
      seccomp: { mode: 'default' },
      limits: {},
      develop: null,
      profiles: [],
      labels: {},
    });
  });

  test('project networks and volumes are named <project>_<key> unless name: is given', () => {
    const { project } = load('services:\n  a: {image: x, networks: [front], volumes: ["data:/d"]}\n  b: {image: x, networks: [default, back, ext], volumes: ["named:/n"]}\nnetworks:\n  front: {}\n  back: {name: shared-back}\n  ext: {external: true}\nvolumes:\n  data:\n  named: {name: keep}\n');
    expect(project.name).toBe('proj');
    expect(Object.values(project.networks).map((n) => [n.key, n.name, n.external])).toEqual([
      ['back', 'shared-back', false],
      ['default', 'proj_default', false],
      ['ext', 'ext', true],
      ['front', 'proj_front', false],
    ]);
    expect(Object.values(project.volumes).map((v) => [v.key, v.name])).toEqual([
      ['data', 'proj_data'],
      ['named', 'keep'],
    ]);
  });

  test('networks, secrets and configs no enabled service uses are left out, as compose leaves them; named volumes stay (run -v)', () => {
    const { project } = load(
      'services:\n  a: {image: x, networks: [used], volumes: ["v:/v"], secrets: [s], configs: [c]}\n  off: {image: x, profiles: [p], networks: [spare], volumes: ["w:/w"], secrets: [t]}\n' +
        'networks:\n  used: {}\n  spare: {}\n  idle: {}\nvolumes:\n  v:\n  w:\n  idle:\nsecrets:\n  s: {file: ./s}\n  t: {file: ./t}\n  idle: {file: ./i}\nconfigs:\n  c: {content: x}\n  idle: {content: y}\n',
    );
    expect(Object.keys(project.networks)).toEqual(['used']);
    expect(Object.keys(project.volumes)).toEqual(['idle', 'v', 'w']);
    expect(Object.keys(project.secrets ?? {})).toEqual(['s']);
    expect(Object.keys(project.configs ?? {})).toEqual(['c']);
  });

  test('what was said of a secret left out goes with it (its missing file concerns nothing that runs)', () => {
    const codes = (text: string) => load(text).diagnostics.map((d) => `${d.code} ${(d.path ?? []).join('.')}`);
    const spec = (uses: string) => `services:\n  a: {image: x${uses}}\nsecrets:\n  gone: {file: ./no-such-file}\n`;
    expect(codes(spec(''))).toEqual([]);
    expect(codes(spec(', secrets: [gone]'))).toEqual(['SECRET_FILE_MISSING secrets.gone.file']);
  });

  test('no default network when every service names its networks', () => {
    const { project } = load('services:\n  a: {image: x, networks: [n]}\nnetworks:\n  n:\n    internal: true\n    ipam: {config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1, ip_range: 10.9.0.128/25}]}\n    labels: [team=a]\n');
    expect(project.networks).toEqual({
      n: { key: 'n', name: 'proj_n', driver: 'bridge', internal: true, external: false, ipam: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.128/25' }], labels: { team: 'a' } },
    });
  });
});

describe('command and entrypoint', () => {
  test.each([
    ['command: echo "hello world"', 'command', ['echo', 'hello world']],
    [`command: sh -c 'sleep 1 && echo done'`, 'command', ['sh', '-c', 'sleep 1 && echo done']],
    ['command: [a, "b c"]', 'command', ['a', 'b c']],
    ['entrypoint: /bin/tini --', 'entrypoint', ['/bin/tini', '--']],
    ['entrypoint: ""', 'entrypoint', []],
    ['command: null', 'command', null],
  ] as const)('%s', (body, key, words) => {
    expect(web(body)[key]).toEqual(words);
  });

  test('an unterminated quote is an error at the key', () => {
    const [e] = errorsOf(`services:\n  web:\n    command: echo 'oops\n`);
    expect(e).toMatchObject({ code: 'BAD_COMMAND', path: ['services', 'web', 'command'], location: { line: 3 } });
    expect(e!.message).toContain('unterminated single quote');
  });
});

describe('environment, env_file, labels', () => {
  test.each([
    ['environment: {A: 1, B: true, C: "x y", D: }', { HOSTD: 'no' }, { A: '1', B: 'true', C: 'x y' }],
    ['environment: [A=1, "B=has=equals", C]', { C: 'from host' }, { A: '1', B: 'has=equals', C: 'from host' }],
    ['environment: {PASS: null}', { PASS: 'through' }, { PASS: 'through' }],
    ['environment: [MISSING]', {}, {}],
  ])('%s', (body, env, expected) => {
    expect(web(body, { env }).environment).toEqual(expected);
  });

  test('env_file: string or list, relative to the project, later files and environment win', () => {
    const s = web('env_file: [envfiles/app.env, {path: envfiles/second.env}, {path: missing.env, required: false}]\nenvironment: {A: override}', {
      workingDir: fixtures,
      env: { HOSTVAR: 'hv' },
    });
    expect(s.environment).toEqual({ A: 'override', B: 'second', C: 'quoted value', D: 'hv' });
    expect(web('env_file: envfiles/second.env', { workingDir: fixtures }).environment).toEqual({ B: 'second' });
  });

  test('a missing required env_file is an error naming the file', () => {
    const [e] = errorsOf('services:\n  web:\n    env_file: nope.env\n', { workingDir: fixtures });
    expect(e).toMatchObject({ code: 'ENV_FILE', path: ['services', 'web', 'env_file'] });
    expect(e!.message).toContain(`${fixtures}/nope.env`);
    expect(e!.hint).toContain('required: false');
  });

  test('labels as map or list', () => {
    expect(web('labels: [a=1, b]').labels).toEqual({ a: '1', b: '' });
    expect(web('labels: {z: 1, a: x}').labels).toEqual({ a: 'x', z: '1' });
  });
});

describe('ports', () => {
  const lo = '127.0.0.1';
  test.each([
    ['"3000"', [{ hostIp: lo, hostPort: 0, containerPort: 3000, protocol: 'tcp' }]],
    ['3000', [{ hostIp: lo, hostPort: 0, containerPort: 3000, protocol: 'tcp' }]],
    ['"8080:80"', [{ hostIp: lo, hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['"0.0.0.0:8080:80/udp"', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['"127.0.0.1::5000"', [{ hostIp: lo, hostPort: 0, containerPort: 5000, protocol: 'tcp' }]],
    ['"[::1]:6000:6000"', [{ hostIp: '::1', hostPort: 6000, containerPort: 6000, protocol: 'tcp' }]],
    [
      '"9090-9091:8080-8081"',
      [
        { hostIp: lo, hostPort: 9090, containerPort: 8080, protocol: 'tcp' },
        { hostIp: lo, hostPort: 9091, containerPort: 8081, protocol: 'tcp' },
      ],
    ],
    [
      '"3000-3001"',
      [
        { hostIp: lo, hostPort: 0, containerPort: 3000, protocol: 'tcp' },
        { hostIp: lo, hostPort: 0, containerPort: 3001, protocol: 'tcp' },
      ],
    ],
    ['{target: 80, published: "8080", host_ip: 10.0.0.1, protocol: udp}', [{ hostIp: '10.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['{target: 80}', [{ hostIp: lo, hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
  ])('%s', (port, expected) => {
    expect(web(`ports:\n  - ${port}`).ports).toEqual(expected);
  });

  test.each([
    ['"8080:80/sctp"', 'protocol "sctp"'],
    ['"1:2:3:4"', 'too many ":"'],
    ['"80-82:90-91"', 'differ in length'],
    ['"99999:80"', 'out of range'],
    ['"http"', 'not a port'],
    ['"0"', 'out of range'],
  ])('%s is refused', (port, reason) => {
    const [e] = errorsOf(`services:\n  web:\n    ports:\n      - ${port}\n`);
    expect(e).toMatchObject({ code: 'BAD_PORT', path: ['services', 'web', 'ports', 0], location: { line: 4 } });
    expect(e!.message).toContain(reason);
  });

  test('expose keeps its entries as strings', () => {
    expect(web('expose: [80, "90-91", 53/udp]').expose).toEqual(['80', '90-91', '53/udp']);
  });
});

describe('volumes and tmpfs', () => {
  const spec = (vol: string) => `services:\n  web:\n    volumes:\n      - ${vol}\nvolumes:\n  data: {}\n`;
  test.each([
    ['./src:/app', { type: 'bind', source: '/proj/src', target: '/app', readOnly: false, createHostPath: true }],
    ['../up:/up:ro', { type: 'bind', source: '/up', target: '/up', readOnly: true, createHostPath: true }],
    ['/abs:/abs:ro,z', { type: 'bind', source: '/abs', target: '/abs', readOnly: true, createHostPath: true }],
    ['~/cfg:/cfg', { type: 'bind', source: '/home/me/cfg', target: '/cfg', readOnly: false, createHostPath: true }],
    ['data:/var/lib/data', { type: 'volume', source: 'data', target: '/var/lib/data', readOnly: false }],
    ['/anon', { type: 'volume', target: '/anon', readOnly: false }],
    ['{type: bind, source: ./x, target: /x, read_only: true}', { type: 'bind', source: '/proj/x', target: '/x', readOnly: true, createHostPath: false }],
    ['{type: bind, source: ./x, target: /x, bind: {create_host_path: true}}', { type: 'bind', source: '/proj/x', target: '/x', readOnly: false, createHostPath: true }],
    ['{type: volume, source: data, target: /d}', { type: 'volume', source: 'data', target: '/d', readOnly: false }],
    ['{type: volume, target: /d}', { type: 'volume', target: '/d', readOnly: false }],
    ['{type: tmpfs, target: /t, tmpfs: {size: 64m, mode: 1777}}', { type: 'tmpfs', target: '/t', readOnly: false, sizeBytes: 64 * 1024 ** 2, mode: 0o1777 }],
  ])('%s', (vol, mount) => {
    const { project, diagnostics } = load(spec(vol), { env: { HOME: '/home/me' } });
    expect(diagnostics).toEqual([]);
    expect(project.services.web!.volumes).toEqual([mount]);
  });

  test.each([
    ['undeclared:/x', 'UNDEFINED_VOLUME', 'volume `undeclared` is not declared'],
    ['./a:relative', 'BAD_VOLUME', 'not an absolute path'],
    ['./a:/a:rx', 'BAD_VOLUME', 'unknown volume mode `rx`'],
    ['a:b:c:d', 'BAD_VOLUME', 'cannot read this volume'],
    ['{type: bind, target: /x}', 'MISSING_KEY', 'needs a `source`'],
  ])('%s is refused', (vol, code, message) => {
    const [e] = errorsOf(spec(vol));
    expect(e).toMatchObject({ code, location: { line: 4 } });
    expect(e!.message).toContain(message);
  });

  test('tmpfs as string or list with size and mode', () => {
    expect(web('tmpfs: /run').volumes).toEqual([{ type: 'tmpfs', target: '/run', readOnly: false }]);
    expect(web('tmpfs: ["/tmp:size=1m,mode=1770", /cache]').volumes).toEqual([
      { type: 'tmpfs', target: '/tmp', readOnly: false, sizeBytes: 1024 ** 2, mode: 0o1770 },
      { type: 'tmpfs', target: '/cache', readOnly: false },
    ]);
  });
});

describe('networks and extra_hosts', () => {
  test('list and map forms with aliases and ipv4_address', () => {
    const { project } = load('services:\n  a: {image: x, networks: [front, back]}\n  b:\n    image: x\n    networks:\n      front: {aliases: [bee], ipv4_address: 10.1.0.5, priority: 10}\n      back:\nnetworks: {front: {}, back: {}}\n');
    expect(project.services.a!.networks).toEqual({ back: { aliases: [], priority: 0 }, front: { aliases: [], priority: 0 } });
    expect(project.services.b!.networks).toEqual({ back: { aliases: [], priority: 0 }, front: { aliases: ['bee'], ipv4Address: '10.1.0.5', priority: 10 } });
    expect(project.networks.default).toBeUndefined();
  });

  test('an undeclared network is an error with a hint', () => {
    const [e] = errorsOf('services:\n  a:\n    networks: [front]\n');
    expect(e).toMatchObject({ code: 'UNDEFINED_NETWORK', path: ['services', 'a', 'networks', 0], location: { line: 3 } });
  });

  test('extra_hosts list (":" or "=") and map, host-gateway kept', () => {
    expect(web('extra_hosts: ["db:10.0.0.2", "gw=host-gateway", "v6:[::1]"]').extraHosts).toEqual([
      { host: 'db', ip: '10.0.0.2' },
      { host: 'gw', ip: 'host-gateway' },
      { host: 'v6', ip: '::1' },
    ]);
    expect(web('extra_hosts: {a: 1.2.3.4, b: [5.6.7.8, 9.9.9.9]}').extraHosts).toEqual([
      { host: 'a', ip: '1.2.3.4' },
      { host: 'b', ip: '5.6.7.8' },
      { host: 'b', ip: '9.9.9.9' },
    ]);
  });
});

describe('depends_on and profiles', () => {
  test('list and map forms with defaults', () => {
    const { project } = load('services:\n  web: {image: x, depends_on: [db]}\n  api:\n    image: x\n    depends_on:\n      db: {condition: service_healthy, required: false, restart: true}\n  db: {image: x}\n');
    expect(project.services.web!.dependsOn).toEqual({ db: { condition: 'service_started', required: true, restart: false } });
    expect(project.services.api!.dependsOn).toEqual({ db: { condition: 'service_healthy', required: false, restart: true } });
  });

  test.each([
    ['services:\n  web: {image: x, depends_on: [api]}\n  api: {image: x, depends_on: [web]}\n', 'api -> web -> api'],
    ['services:\n  web: {image: x, depends_on: [web]}\n', 'web -> web'],
    ['services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: {c: {condition: service_started}}}\n  c: {image: x, depends_on: [a]}\n', 'a -> b -> c -> a'],
  ])('cycles are named: %#', (yaml, cycle) => {
    const errors = errorsOf(yaml);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['CYCLE', `dependency cycle: ${cycle}`]]);
  });

  test('a dependency on a service that does not exist', () => {
    const [e] = errorsOf('services:\n  web: {image: x, depends_on: [dbb]}\n  db: {image: x}\n');
    expect(e).toMatchObject({ code: 'UNDEFINED_SERVICE', path: ['services', 'web', 'depends_on', 0] });
  });

  test('profiles: services without profiles always run, others when a profile is active', () => {
    const yaml = 'services:\n  web: {image: x}\n  debug: {image: x, profiles: [debug]}\n  tools: {image: x, profiles: [tools, debug]}\n';
    expect(Object.keys(load(yaml).project.services)).toEqual(['web']);
    expect(Object.keys(load(yaml, { profiles: ['debug'] }).project.services)).toEqual(['debug', 'tools', 'web']);
    expect(Object.keys(load(yaml, { profiles: ['tools'] }).project.services)).toEqual(['tools', 'web']);
    expect(Object.keys(load(yaml, { profiles: ['*'] }).project.services)).toEqual(['debug', 'tools', 'web']);
    expect(Object.keys(load(yaml, { env: { COMPOSE_PROFILES: 'tools' } }).project.services)).toEqual(['tools', 'web']);
    // The others are named (compose's disabled services: a whole up leaves them as they are).
    expect(load(yaml).project.disabledServices).toEqual(['debug', 'tools']);
    expect(load(yaml, { profiles: ['tools'] }).project.disabledServices).toEqual(['debug']);
    expect(load(yaml, { profiles: ['*'] }).project).not.toHaveProperty('disabledServices');
  });

  test('a service the command names is enabled with its profiles (compose: "unless the service is explicitly targeted by a command")', () => {
    const yaml = 'services:\n  web: {image: x}\n  debug: {image: x, profiles: [debug]}\n  tools: {image: x, profiles: [tools, debug]}\n  migrate: {image: x, profiles: [tools]}\n';
    // debug's profile comes with it: tools, in that profile too, is enabled; migrate is not.
    expect(Object.keys(load(yaml, { targets: ['debug'] }).project.services)).toEqual(['debug', 'tools', 'web']);
    expect(Object.keys(load(yaml, { targets: ['migrate'] }).project.services)).toEqual(['migrate', 'tools', 'web']);
    // A service enabled already, or one the spec does not have, changes nothing.
    expect(Object.keys(load(yaml, { targets: ['web', 'nosuch'] }).project.services)).toEqual(['web']);
    expect(Object.keys(load(yaml, { profiles: ['debug'], targets: ['debug'] }).project.services)).toEqual(['debug', 'tools', 'web']);
    // Only its own profiles: a dependency behind another profile is still an error, as in compose.
    const dependent = 'services:\n  db: {image: x, profiles: [dev]}\n  phpmyadmin: {image: x, profiles: [debug], depends_on: [db]}\n';
    expect(load(dependent, { targets: ['phpmyadmin'] }).diagnostics.find((d) => d.severity === 'error')).toMatchObject({ code: 'DISABLED_DEPENDENCY' });
  });

  test('like compose, a required dependency is not enabled for you: it is an error', () => {
    const yaml = 'services:\n  web: {image: x, depends_on: [db]}\n  db: {image: x, profiles: [dev]}\n';
    const [e] = errorsOf(yaml);
    expect(e).toMatchObject({ code: 'DISABLED_DEPENDENCY', hint: expect.stringContaining('--profile dev') });
    expect(Object.keys(load(yaml, { profiles: ['dev'] }).project.services)).toEqual(['db', 'web']);
  });

  test('an optional dependency disabled by profiles is dropped with a warning; cycles through disabled services do not count', () => {
    const { project, diagnostics } = load('services:\n  web:\n    image: x\n    depends_on: {db: {condition: service_started, required: false}}\n  db: {image: x, profiles: [dev], depends_on: [web]}\n');
    expect(project.services.web!.dependsOn).toEqual({});
    expect(diagnostics.map((d) => [d.severity, d.code])).toEqual([['warning', 'SKIPPED_DEPENDENCY']]);
  });
});

describe('healthcheck', () => {
  test.each([
    ['{test: "pg_isready -U x"}', ['CMD-SHELL', 'pg_isready -U x']],
    ['{test: [CMD, curl, -f, http://localhost]}', ['CMD', 'curl', '-f', 'http://localhost']],
    ['{test: [CMD-SHELL, "exit 0"]}', ['CMD-SHELL', 'exit 0']],
  ])('%s', (hc, test_) => {
    expect(web(`healthcheck: ${hc}`).healthcheck).toEqual({ test: test_, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 });
  });

  test('durations and retries', () => {
    expect(web('healthcheck: {test: "true", interval: 1m30s, timeout: 500ms, retries: "5", start_period: 10, start_interval: 1s}').healthcheck).toEqual({
      test: ['CMD-SHELL', 'true'],
      intervalMs: 90_000,
      timeoutMs: 500,
      retries: 5,
      startPeriodMs: 10_000,
      startIntervalMs: 1000,
    });
  });

  test.each([['{test: [NONE]}'], ['{test: "true", disable: true}'], ['{disable: true}']])('%s disables it', (hc) => {
    expect(web(`healthcheck: ${hc}`).healthcheck).toBeNull();
  });

  test.each([
    ['{test: [curl, x]}', 'BAD_HEALTHCHECK'],
    ['{test: [CMD]}', 'BAD_HEALTHCHECK'],
    ['{interval: 1s}', 'MISSING_KEY'],
  ])('%s is refused', (hc, code) => {
    const [e] = errorsOf(`services:\n  web:\n    healthcheck: ${hc}\n`);
    expect(e?.code).toBe(code);
  });
});

describe('restart, stop, limits, develop, misc', () => {
  test.each([
    ['no', { kind: 'no' }],
    ['always', { kind: 'always' }],
    ['unless-stopped', { kind: 'unless-stopped' }],
    ['on-failure', { kind: 'on-failure' }],
    ['on-failure:3', { kind: 'on-failure', maxRetries: 3 }],
  ])('restart: %s', (policy, expected) => {
    expect(web(`restart: "${policy}"`).restart).toEqual(expected);
  });

  test.each([
    ['SIGINT', 'SIGINT'],
    ['QUIT', 'SIGQUIT'],
    ['"9"', 'SIGKILL'],
  ])('stop_signal: %s', (sig, name) => {
    expect(web(`stop_signal: ${sig}`).stopSignal).toBe(name);
  });

  test('an unknown signal is an error', () => {
    expect(errorsOf('services:\n  web:\n    stop_signal: SIGFOO\n')[0]?.code).toBe('BAD_SIGNAL');
  });

  test('stop_grace_period', () => {
    expect(web('stop_grace_period: 1m30s').stopGracePeriodMs).toBe(90_000);
    expect(web('stop_grace_period: 2').stopGracePeriodMs).toBe(2000);
  });

  test.each([
    ['mem_limit: 512m\ncpus: 0.5\npids_limit: 100', { memoryBytes: 512 * 1024 ** 2, cpus: 0.5, pids: 100 }],
    ['deploy: {resources: {limits: {memory: 1g, cpus: "1.5", pids: 20}}}', { memoryBytes: 1024 ** 3, cpus: 1.5, pids: 20 }],
    ['mem_limit: 1g\ndeploy: {resources: {limits: {memory: 1024m}}}', { memoryBytes: 1024 ** 3 }],
    ['pids_limit: -1\ncpus: 0', { pids: -1 }],
    ['pids_limit: 0', { pids: -1 }],
  ])('limits: %s', (body, limits) => {
    expect(web(body).limits).toEqual(limits);
  });

  test('a memory limit below 6 MiB is an error where it is written, as Docker refuses it', () => {
    const [e] = errorsOf('services:\n  web:\n    mem_limit: 4k\n');
    expect(e).toMatchObject({ code: 'BAD_SIZE', path: ['services', 'web', 'mem_limit'], expected: 'at least 6m (Docker refuses less too)' });
    const [d] = errorsOf('services:\n  web:\n    deploy: {resources: {limits: {memory: 5m}}}\n');
    expect(d).toMatchObject({ code: 'BAD_SIZE', path: ['services', 'web', 'deploy', 'resources', 'limits', 'memory'] });
    expect(errorsOf('services:\n  web:\n    mem_limit: 6m\n')).toEqual([]);
  });

  test('limits that disagree are an error, like compose', () => {
    const [e] = errorsOf('services:\n  web:\n    mem_limit: 1g\n    deploy: {resources: {limits: {memory: 2g}}}\n');
    expect(e).toMatchObject({ code: 'CONFLICT', path: ['services', 'web', 'mem_limit'], found: '1g and 2g' });
  });

  test('develop.watch paths are absolute, ignore is a list', () => {
    expect(web('develop:\n  watch:\n    - {path: ./src, action: sync, target: /app/src, ignore: node_modules/}\n    - {path: package.json, action: rebuild}').develop).toEqual({
      watch: [
        { path: '/proj/src', action: 'sync', target: '/app/src', ignore: ['node_modules/'], include: [], initialSync: false },
        { path: '/proj/package.json', action: 'rebuild', ignore: [], include: [], initialSync: false },
      ],
    });
  });

  test('develop.watch include, initial_sync and a sync+exec rule with its exec', () => {
    const spec = 'develop:\n  watch:\n    - path: ./src\n      action: sync+exec\n      target: /app/src\n      include: "*.js"\n      initial_sync: true\n      exec:\n        command: kill -HUP 1\n        user: "1000"\n        privileged: true\n        working_dir: /app\n        environment: [A=1]';
    expect(web(spec).develop).toEqual({
      watch: [
        {
          path: '/proj/src',
          action: 'sync+exec',
          target: '/app/src',
          ignore: [],
          include: ['*.js'],
          initialSync: true,
          exec: { command: ['kill', '-HUP', '1'], user: '1000', privileged: true, workingDir: '/app', environment: { A: '1' } },
        },
      ],
    });
  });

  test('user, hostname, container_name, working_dir, init, read_only, capabilities, image, build', () => {
    const s = web('user: 1000\nhostname: h\ncontainer_name: c\nworking_dir: /w\ninit: true\nread_only: "yes"\ncap_add: [net_admin, CAP_SYS_TIME]\ncap_drop: [ALL]\nimage: nginx\nbuild: {context: ./app, dockerfile: D, target: t, args: [A=1, B]}', {
      env: { B: 'b' },
    });
    expect(s).toMatchObject({
      user: '1000',
      hostname: 'h',
      containerName: 'c',
      workingDir: '/w',
      init: true,
      readOnly: true,
      capAdd: ['NET_ADMIN', 'SYS_TIME'],
      capDrop: ['ALL'],
      image: 'nginx',
      build: { context: '/proj/app', dockerfile: 'D', target: 't', args: { A: '1', B: 'b' } },
    });
    expect(web('build: .').build).toEqual({ context: '/proj', args: {} });
  });
});

describe('addresses and names', () => {
  const net = 'networks:\n  n:\n    ipam: {config: [{subnet: 10.5.0.0/24, gateway: 10.5.0.1}]}\n  bare: {}\n';
  test('a static address inside the subnet is kept', () => {
    const { project, diagnostics } = load(`services:\n  a:\n    image: x\n    networks: {n: {ipv4_address: 10.5.0.7}}\n${net}`);
    expect(diagnostics).toEqual([]);
    expect(project.services.a!.networks.n!.ipv4Address).toBe('10.5.0.7');
  });

  test.each([
    ['networks: {n: {ipv4_address: 10.6.0.7}}', 'outside the subnets of network `n`'],
    ['networks: {n: {ipv4_address: 10.5.0.300}}', 'is not an IPv4 address'],
    ['networks: {bare: {ipv4_address: 10.5.0.7}}', 'needs a subnet on network `bare`'],
    ['extra_hosts: ["db:not-an-ip"]', 'is not an IP address'],
    ['ports: ["localhost:80:80"]', 'host IP `localhost`'],
  ])('%s is refused', (body, message) => {
    const [e] = errorsOf(`services:\n  a:\n    image: x\n    ${body}\n${net}`);
    expect(e).toMatchObject({ code: 'BAD_ADDRESS', location: { line: 4 } });
    expect(e!.message).toContain(message);
  });

  test('a bad subnet is refused', () => {
    const [e] = errorsOf('services: {a: {image: x}}\nnetworks:\n  n:\n    ipam: {config: [{subnet: 10.5.0.0/33}]}\n');
    expect(e).toMatchObject({ code: 'BAD_ADDRESS', path: ['networks', 'n', 'ipam', 'config', 0, 'subnet'] });
  });

  test('two services with one container_name', () => {
    const [e] = errorsOf('services:\n  a: {image: x, container_name: same}\n  b: {image: x, container_name: same}\n');
    expect(e).toMatchObject({ code: 'DUPLICATE_NAME', path: ['services', 'b', 'container_name'] });
  });
});

describe('misspelt references get a suggestion', () => {
  test.each([
    ['services:\n  web: {image: x, depends_on: [dbb]}\n  db: {image: x}\n', 'UNDEFINED_SERVICE', 'did you mean `db`?'],
    ['services:\n  web: {image: x, networks: [frontend]}\nnetworks: {front-end: {}}\n', 'UNDEFINED_NETWORK', 'did you mean `front-end`?'],
    ['services:\n  web: {image: x, volumes: ["dta:/d"]}\nvolumes: {data: {}}\n', 'UNDEFINED_VOLUME', 'did you mean `data`?'],
  ])('%#: %s', (yaml, code, hint) => {
    const [e] = errorsOf(yaml);
    expect(e).toMatchObject({ code, hint: expect.stringContaining(hint) });
  });
});

describe('mistakes that would only show at run time', () => {
  test.each([
    ['services:\n  web:\n    command: x\n    working_dir: app\n', 'BAD_PATH', ['services', 'web', 'working_dir']],
    ['services:\n  web:\n    command: x\n    develop: {watch: [{path: ./src, action: sync}]}\n', 'MISSING_KEY', ['services', 'web', 'develop', 'watch', 0]],
    ['services:\n  web:\n    command: x\n    develop: {watch: [{path: ./src, action: sync, target: app}]}\n', 'BAD_PATH', ['services', 'web', 'develop', 'watch', 0, 'target']],
    ['services:\n  web:\n    command: x\n    develop: {watch: [{path: ./src, action: sync+exec, target: /app}]}\n', 'MISSING_KEY', ['services', 'web', 'develop', 'watch', 0]],
    ['services:\n  web:\n    command: x\n    develop: {watch: [{path: ./src, action: sync+exec, target: /app, exec: {command: "a \'b"}}]}\n', 'BAD_COMMAND', ['services', 'web', 'develop', 'watch', 0, 'exec', 'command']],
    [
      'services:\n  web:\n    command: x\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    command: y\n',
      'NO_HEALTHCHECK',
      ['services', 'web', 'depends_on', 'db', 'condition'],
    ],
  ])('%#: %s', (yaml, code, path) => {
    const errors = errorsOf(yaml);
    expect(errors.map((e) => [e.code, e.path])).toEqual([[code, path]]);
  });

  test('waiting for the health of an image service is left to later (the image may define it)', () => {
    expect(errorsOf('services:\n  web:\n    command: x\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    image: postgres\n')).toEqual([]);
  });
});

describe('published ports', () => {
  test.each([
    ['a: {command: x, ports: ["8080:80"]}\n  b: {command: x, ports: ["8080:81"]}', '127.0.0.1:8080/tcp is published twice (`a` and `b`)'],
    ['a: {command: x, ports: ["0.0.0.0:53:53/udp"]}\n  b: {command: x, ports: ["127.0.0.1:53:53/udp"]}', '127.0.0.1:53/udp is published twice'],
    ['a: {command: x, ports: ["8080:80", "8080:81"]}', 'published twice (`a` and `a`)'],
    // :: is every address, IPv4 ones too (the supervisor's IPv6 sockets are dual-stack)
    ['a: {command: x, ports: ["0.0.0.0:8080:80"]}\n  b: {command: x, ports: ["[::]:8080:81"]}', '[::]:8080/tcp is published twice'],
    ['a: {command: x, ports: ["[::]:8080:80"]}\n  b: {command: x, ports: ["[::1]:8080:81"]}', '[::1]:8080/tcp is published twice'],
  ])('a host port used twice is an error: %#', (services, message) => {
    const errors = errorsOf(`services:\n  ${services}\n`);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['PORT_CONFLICT', expect.stringContaining(message)]]);
  });

  test('different protocols, addresses or free ports do not clash', () => {
    expect(errorsOf('services:\n  a: {command: x, ports: ["53:53/udp", "127.0.0.2:80:80", "80"]}\n  b: {command: x, ports: ["53:53", "127.0.0.3:80:80", "80"]}\n')).toEqual([]);
  });

  test('0.0.0.0 is every IPv4 address, not an IPv6 one: with [::1] on the same port, each listens alone', () => {
    expect(errorsOf('services:\n  a: {command: x, ports: ["0.0.0.0:8080:80"]}\n  b: {command: x, ports: ["[::1]:8080:81"]}\n')).toEqual([]);
  });
});

describe('x-stack-allow-link-local', () => {
  test('true opens link-local egress on that network only; false and absent keep it closed', () => {
    const { project } = load('services:\n  a: {command: [x], networks: [front, back]}\nnetworks:\n  front: {x-stack-allow-link-local: true}\n  back: {x-stack-allow-link-local: false}\n');
    expect(project.networks.front!.allowLinkLocal).toBe(true);
    expect(project.networks.back!.allowLinkLocal).toBeUndefined();
  });

  test('a value that is not a boolean is an error at its line, never a silent block', () => {
    const errors = errorsOf('services:\n  a: {command: [x], networks: [front]}\nnetworks:\n  front:\n    x-stack-allow-link-local: maybe\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'BAD_VALUE', location: { line: 5 } });
    expect(errors[0]!.message).toContain('"maybe"');
  });
});

import { describe, expect, test } from 'vitest';
import { formatDiagnostic } from '../../../src/spec/diagnostics.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

const check = (yaml: string) => validate(rawSpec(yaml));

describe('validate: valid specs give no diagnostics', () => {
  test.each([
    ['minimal', 'services:\n  web:\n    command: ["sleep", "1"]\n'],
    ['extension keys everywhere', 'x-common: &c {a: 1}\nservices:\n  web:\n    x-note: hi\n    healthcheck: {test: [CMD, "true"], x-h: 1}\n    ports: [{target: 80, x-p: 1}]\nnetworks:\n  n: {x-net: 1}\n'],
    ['interpolated strings where numbers go', 'services:\n  web:\n    pids_limit: "100"\n    init: "true"\n    cpus: "0.5"\n    mem_limit: 512m\n    ports: [{target: "80", published: "8080"}]\n'],
    ['null network and volume bodies', 'services: {a: {image: x}}\nnetworks: {front: }\nvolumes: {data: }\n'],
    ['every supported service key', `services:
  web:
    image: nginx
    build: {context: ., dockerfile: Dockerfile, args: {A: 1}}
    command: echo hi
    entrypoint: [sh, -c]
    environment: [A=1, B]
    env_file: [a.env, {path: b.env, required: false}]
    working_dir: /app
    user: "1000:1000"
    hostname: web
    container_name: web1
    ports: ["80", "127.0.0.1:8080:80/udp", 9000]
    expose: [80, "90-91"]
    volumes: [./a:/a:ro, {type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 1777}}]
    tmpfs: /run
    networks: {front: {aliases: [w], ipv4_address: 10.0.0.2}}
    extra_hosts: ["h:host-gateway"]
    depends_on: {db: {condition: service_healthy, required: false, restart: true}}
    healthcheck: {test: "curl x", interval: 1m30s, timeout: 10s, retries: 3, start_period: 1s, start_interval: 1s, disable: false}
    restart: on-failure:3
    stop_signal: SIGINT
    stop_grace_period: 5s
    init: true
    read_only: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    mem_limit: 1g
    cpus: 1.5
    pids_limit: 100
    deploy: {resources: {limits: {cpus: "1.5", memory: 1g, pids: 100}}}
    develop: {watch: [{path: ./src, action: sync, target: /app, ignore: [node_modules]}]}
    profiles: [dev]
    labels: {a: b}
  db: {image: postgres}
networks:
  front: {driver: bridge, internal: true, ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}, labels: [a=b]}
volumes:
  data: {name: mydata, external: false}
`],
  ])('%s', (_name, yaml) => {
    expect(check(yaml)).toEqual([]);
  });
});

// Each error: where (line:col), which key path, what was expected, what was found, and a hint.
describe('validate: errors', () => {
  test.each([
    {
      name: 'unknown key with a suggestion',
      yaml: 'services:\n  web:\n    imagee: nginx\n',
      code: 'UNKNOWN_KEY',
      path: ['services', 'web', 'imagee'],
      line: 3,
      col: 5,
      expected: 'a key of a service',
      found: '`imagee`',
      hint: 'did you mean `image`?',
    },
    {
      name: 'unknown top-level key',
      yaml: 'servics:\n  web: {image: x}\n',
      code: 'UNKNOWN_KEY',
      path: ['servics'],
      line: 1,
      col: 1,
      hint: 'did you mean `services`?',
    },
    {
      name: 'unknown key inside the long syntax of a port',
      yaml: 'services:\n  web:\n    ports:\n      - target: 80\n        protocl: udp\n',
      code: 'UNKNOWN_KEY',
      path: ['services', 'web', 'ports', 0, 'protocl'],
      line: 5,
      col: 9,
      hint: 'did you mean `protocol`?',
    },
    {
      name: 'unsupported compose key is named',
      yaml: 'services:\n  web:\n    image: x\n    blkio_config: {weight: 300}\n',
      code: 'UNSUPPORTED',
      path: ['services', 'web', 'blkio_config'],
      line: 4,
      col: 5,
      found: '`blkio_config`',
      hint: 'remove `blkio_config`',
    },
    {
      name: 'wrong type',
      yaml: 'services:\n  web:\n    command: {a: 1}\n',
      code: 'BAD_TYPE',
      path: ['services', 'web', 'command'],
      line: 3,
      col: 5,
      expected: 'a command as a string or a list of strings',
      found: 'a mapping {"a":1}',
    },
    {
      name: 'bad duration',
      yaml: 'services:\n  web:\n    stop_grace_period: 10 seconds\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'stop_grace_period'],
      expected: 'a duration such as 30s',
      found: '"10 seconds"',
    },
    {
      name: 'bad byte size',
      yaml: 'services:\n  web:\n    mem_limit: lots\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'mem_limit'],
      expected: 'a byte size such as 512m',
      found: '"lots"',
    },
    {
      name: 'bad restart policy',
      yaml: 'services:\n  web:\n    restart: sometimes\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'restart'],
      expected: 'no, always, on-failure, on-failure:N or unless-stopped',
      found: '"sometimes"',
    },
    {
      name: 'bad boolean',
      yaml: 'services:\n  web:\n    init: maybe\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'init'],
      expected: 'true or false',
      found: '"maybe"',
    },
    {
      name: 'enum with suggestion',
      yaml: 'services:\n  web:\n    depends_on:\n      db: {condition: service_healty}\n  db: {image: x}\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'depends_on', 'db', 'condition'],
      line: 4,
      expected: 'service_started, service_healthy or service_completed_successfully',
      hint: 'did you mean `service_healthy`?',
    },
    {
      name: 'missing required key',
      yaml: 'services:\n  web:\n    volumes:\n      - type: bind\n        source: ./a\n',
      code: 'MISSING_KEY',
      path: ['services', 'web', 'volumes', 0, 'target'],
      line: 4,
      found: 'nothing',
      hint: 'add `target:` here',
    },
    {
      name: 'bad service name',
      yaml: 'services:\n  "my web":\n    image: x\n',
      code: 'BAD_NAME',
      path: ['services', 'my web'],
      line: 2,
      found: '"my web"',
      hint: 'rename it, e.g. `my-web`',
    },
    {
      name: 'service must be a mapping',
      yaml: 'services:\n  web: nginx\n',
      code: 'BAD_TYPE',
      path: ['services', 'web'],
      expected: 'a mapping (a service)',
      found: '"nginx"',
    },
    {
      name: 'other network drivers',
      yaml: 'services: {a: {image: x}}\nnetworks:\n  n: {driver: overlay}\n',
      code: 'BAD_VALUE',
      path: ['networks', 'n', 'driver'],
      line: 3,
      expected: 'bridge',
    },
    {
      name: 'port out of range in long syntax',
      yaml: 'services:\n  web:\n    ports: [{target: 70000}]\n',
      code: 'BAD_VALUE',
      path: ['services', 'web', 'ports', 0, 'target'],
      expected: 'a port number',
    },
    {
      name: 'empty spec',
      yaml: '',
      code: 'EMPTY_SPEC',
      path: undefined,
      line: 1,
      col: 1,
    },
  ])('$name', ({ yaml, code, path, line, col, expected, found, hint }) => {
    const diags = check(yaml);
    expect(diags).toHaveLength(1);
    const d = diags[0]!;
    expect(d).toMatchObject({ severity: 'error', code });
    expect(d.path).toEqual(path);
    expect(d.location?.file).toBe('/proj/stack.yaml');
    if (line !== undefined) expect(d.location?.line).toBe(line);
    if (col !== undefined) expect(d.location?.col).toBe(col);
    if (expected !== undefined) expect(d.expected).toContain(expected);
    if (found !== undefined) expect(d.found).toBe(found);
    if (hint !== undefined) expect(d.hint).toContain(hint);
    expect(d.message).not.toMatch(/Invalid input|expected:/);
  });

  test.each([
    ['services:\n  web:\n    cap_add: NET_ADMIN\n', 'write it as a list: ["NET_ADMIN"]'],
    ['services:\n  web: nginx\n', 'check the indentation'],
    ['services:\n  web:\n    hostname: 42\n', 'put the value in quotes'],
    ['services:\n  web:\n    healthcheck:\n', 'give it one, or remove the key'],
  ])('wrong kinds of value come with a hint: %j', (yaml, hint) => {
    const [d] = check(yaml);
    expect(d?.code).toBe('BAD_TYPE');
    expect(d?.hint).toContain(hint);
  });

  test('cosmetic keys only warn', () => {
    const diags = check('version: "3.8"\nservices:\n  web:\n    image: x\n    logging: {driver: none}\n    annotations: {a: b}\n');
    expect(diags.map((d) => [d.severity, d.code, d.path?.join('.')])).toEqual([
      ['warning', 'IGNORED_KEY', 'services.web.logging'],
      ['warning', 'IGNORED_KEY', 'services.web.annotations'],
      ['warning', 'IGNORED_KEY', 'version'],
    ]);
    expect(diags[0]!.hint).toContain('own log file');
  });

  test('every error of a file is reported at once', () => {
    const diags = check('services:\n  web:\n    imagee: x\n    restart: sometimes\n    ports: [{target: 80, protocol: sctp}]\n  db:\n    blkio_config: {weight: 300}\nvolumes:\n  v: {drivr: local}\n');
    expect(diags.map((d) => `${d.location?.line}:${d.code}`).sort()).toEqual(['3:UNKNOWN_KEY', '4:BAD_VALUE', '5:BAD_VALUE', '7:UNSUPPORTED', '9:UNKNOWN_KEY']);
  });

  test('formats for humans with file:line:col, path, expected, found and hint', () => {
    const [d] = check('services:\n  web:\n    imagee: nginx\n');
    expect(formatDiagnostic(d!, '/proj')).toMatchInlineSnapshot(`
      "stack.yaml:3:5: error: services.web.imagee: unknown key \`imagee\`
        expected: a key of a service
        found:    \`imagee\`
        hint:     did you mean \`image\`?"
    `);
  });
});

import { describe, expect, test } from 'vitest';
import { loadRaw } from '../../../src/spec/load.js';
import { tree } from './tmp.js';

/** Loads `-f a.yaml -f b.yaml` where each holds `services: { s: <yaml> }` and returns s. */
async function mergeService(a: string, b: string): Promise<unknown> {
  const indent = (y: string): string => y.split('\n').map((l) => `    ${l}`).join('\n');
  const dir = tree({
    'a.yaml': `services:\n  s:\n${indent(a)}\n`,
    'b.yaml': `services:\n  s:\n${indent(b)}\n`,
  });
  const raw = await loadRaw({ cwd: dir, env: {}, files: ['a.yaml', 'b.yaml'] });
  return (raw.doc.services as Record<string, unknown>).s;
}

describe('merge rules of the compose-spec (-f a -f b)', () => {
  test.each<[string, string, string, unknown]>([
    ['mappings merge, scalars replace', 'image: a\nuser: u', 'image: b\nhostname: h', { image: 'b', user: 'u', hostname: 'h' }],
    ['a null override keeps the base', 'image: a', 'image:', { image: 'a' }],
    ['ports append', 'ports: ["80:80"]', 'ports: ["81:81"]', { ports: ['80:80', '81:81'] }],
    ['equal ports are kept once', 'ports: ["80:80", "90:90"]', 'ports: ["80:80"]', { ports: ['80:80', '90:90'] }],
    [
      'long-syntax ports with the same key are kept once, merged',
      'ports: [{target: 80, published: "8080", protocol: tcp, mode: ingress}]',
      'ports: [{target: 80, published: "8080", mode: host}]',
      { ports: [{ target: 80, published: '8080', protocol: 'tcp', mode: 'host' }] },
    ],
    ['expose appends', 'expose: ["1"]', 'expose: [2, "1"]', { expose: ['1', 2] }],
    ['command is replaced', 'command: ["echo", "foo"]', 'command: ["echo", "bar"]', { command: ['echo', 'bar'] }],
    ['entrypoint is replaced', 'entrypoint: ["a", "b"]', 'entrypoint: c', { entrypoint: 'c' }],
    ['healthcheck.test is replaced, the rest merges', 'healthcheck: {test: ["CMD", "a"], retries: 3}', 'healthcheck: {test: ["CMD", "b"]}', { healthcheck: { test: ['CMD', 'b'], retries: 3 } }],
    ['environment maps merge', 'environment: {A: "1", B: "2"}', 'environment: {B: "3", C: null}', { environment: { A: '1', B: '3', C: null } }],
    ['a null in the override environment passes the host value through', 'environment: {A: "1"}', 'environment: {A: null}', { environment: { A: null } }],
    ['environment list + map merge by key', 'environment: ["A=1", "B=2"]', 'environment: {B: "3", C: "4"}', { environment: ['A=1', 'B=3', 'C=4'] }],
    ['environment map + list merge by key', 'environment: {A: "1", B: "2"}', 'environment: ["B=3", "D"]', { environment: ['A=1', 'B=3', 'D'] }],
    ['labels merge as maps', 'labels: ["a=1"]', 'labels: {a: "2", b: "3"}', { labels: ['a=2', 'b=3'] }],
    ['volumes merge by target', 'volumes: ["foo:/work", "./x:/x:ro"]', 'volumes: ["bar:/work"]', { volumes: ['bar:/work', './x:/x:ro'] }],
    [
      'long-syntax volumes with the same target merge',
      'volumes: [{type: bind, source: ./a, target: /t, read_only: true}]',
      'volumes: [{type: bind, source: ./b, target: /t}]',
      { volumes: [{ type: 'bind', source: './b', target: '/t', read_only: true }] },
    ],
    [
      'volumes merge by target across syntaxes',
      'volumes: ["foo:/work"]',
      'volumes: [{type: volume, source: bar, target: /work}]',
      { volumes: [{ type: 'volume', source: 'bar', target: '/work' }] },
    ],
    ['DNS (a sequence) appends', 'dns: ["1.1.1.1"]', 'dns: 8.8.8.8', { dns: ['1.1.1.1', '8.8.8.8'] }],
    ['cap_add appends without repeats', 'cap_add: [NET_ADMIN]', 'cap_add: [NET_ADMIN, SYS_TIME]', { cap_add: ['NET_ADMIN', 'SYS_TIME'] }],
    [
      'depends_on list + map becomes a map',
      'depends_on: [db]',
      'depends_on: {cache: {condition: service_healthy}}',
      { depends_on: { db: { condition: 'service_started', required: true }, cache: { condition: 'service_healthy' } } },
    ],
    ['networks list + map', 'networks: [front]', 'networks: {back: {aliases: [b]}}', { networks: { front: null, back: { aliases: ['b'] } } }],
    ['network aliases append', 'networks: {n: {aliases: [a]}}', 'networks: {n: {aliases: [b, a]}}', { networks: { n: { aliases: ['a', 'b'] } } }],
    ['build string + map', 'build: ./app', 'build: {dockerfile: D}', { build: { context: './app', dockerfile: 'D' } }],
    ['env_file string + list', 'env_file: a.env', 'env_file: [b.env, a.env]', { env_file: ['a.env', 'b.env'] }],
    ['extra_hosts list join', 'extra_hosts: ["a=1.1.1.1"]', 'extra_hosts: ["a=1.1.1.1", "b=2.2.2.2"]', { extra_hosts: ['a=1.1.1.1', 'b=2.2.2.2'] }],
    ['x- keys are replaced whole', 'x-meta: {a: 1}', 'x-meta: {b: 2}', { 'x-meta': { b: 2 } }],
    ['!reset removes a sequence', 'image: i\nports: ["80:80"]', 'ports: !reset []', { image: 'i' }],
    ['!reset removes one environment key (map)', 'environment: {FOO: a, BAR: b}', 'environment:\n  FOO: !reset null', { environment: { BAR: 'b' } }],
    ['!reset removes one environment key (list base)', 'environment: ["FOO=a", "BAR=b"]', 'environment:\n  FOO: !reset null', { environment: ['BAR=b'] }],
    ['!reset with no value', 'command: sleep infinity\nimage: i', 'command: !reset', { image: 'i' }],
    ['!override replaces a sequence', 'ports: ["80:80"]', 'ports: !override ["8443:443"]', { ports: ['8443:443'] }],
    ['!override replaces a mapping', 'environment: {A: "1"}', 'environment: !override {B: "2"}', { environment: { B: '2' } }],
    ['!override replaces a whole nested block', 'deploy: {resources: {limits: {cpus: "1", memory: 1g}}}', 'deploy: !override {resources: {limits: {cpus: "2"}}}', { deploy: { resources: { limits: { cpus: '2' } } } }],
    ['ulimits merge per name', 'ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}', 'ulimits: {nofile: {soft: 3}}', { ulimits: { nofile: { soft: 3, hard: 2 }, nproc: 5 } }],
  ])('%s', async (_name, a, b, expected) => {
    expect(await mergeService(a, b)).toEqual(expected);
  });

  test('a service only in the second file joins; top-level sections merge', async () => {
    const dir = tree({
      'a.yaml': 'services:\n  a: {image: a}\nnetworks:\n  n1: {}\n',
      'b.yaml': 'services:\n  b: {image: b}\nnetworks:\n  n2: {internal: true}\nvolumes:\n  v: {}\n',
    });
    const raw = await loadRaw({ cwd: dir, env: {}, files: ['a.yaml', 'b.yaml'] });
    expect(raw.doc).toEqual({
      services: { a: { image: 'a' }, b: { image: 'b' } },
      networks: { n1: {}, n2: { internal: true } },
      volumes: { v: {} },
    });
  });

  test('!reset of a whole service removes it', async () => {
    const dir = tree({
      'a.yaml': 'services:\n  a: {image: a}\n  b: {image: b}\n',
      'b.yaml': 'services:\n  b: !reset\n',
    });
    const raw = await loadRaw({ cwd: dir, env: {}, files: ['a.yaml', 'b.yaml'] });
    expect(raw.doc).toEqual({ services: { a: { image: 'a' } } });
  });

  test('locate gives the place in the file each value came from', async () => {
    const dir = tree({
      'a.yaml': 'services:\n  s:\n    image: a\n    ports:\n      - "80:80"\n    user: u\n',
      'sub/b.yaml': 'services:\n  s:\n    image: b\n    ports:\n      - "81:81"\n',
    });
    const raw = await loadRaw({ cwd: dir, env: {}, files: ['a.yaml', 'sub/b.yaml'] });
    const a = `${dir}/a.yaml`;
    const b = `${dir}/sub/b.yaml`;
    expect(raw.files).toEqual([a, b]);
    expect(raw.workingDir).toBe(dir);
    expect(raw.locate(['services', 's', 'image'])).toEqual({ file: b, line: 3, col: 12 });
    expect(raw.locate(['services', 's', 'user'])).toEqual({ file: a, line: 6, col: 11 });
    expect(raw.locate(['services', 's', 'ports', 0])).toEqual({ file: a, line: 5, col: 9 });
    expect(raw.locate(['services', 's', 'ports', 1])).toEqual({ file: b, line: 5, col: 9 });
  });

  test('each file is interpolated before merging, and a merged file with an error names its own line', async () => {
    const dir = tree({
      'a.yaml': 'services:\n  s:\n    image: ${IMG}\n',
      'b.yaml': '# override\nservices:\n  s:\n    user: ${U:?set U}\n',
    });
    await expect(loadRaw({ cwd: dir, env: { IMG: 'x' }, files: ['a.yaml', 'b.yaml'] })).rejects.toThrow(/b\.yaml:4:11: error: services\.s\.user: required variable U is missing a value: set U/);
  });

  test('a file with several documents merges them in order', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  s: {image: a, ports: ["1:1"]}\n---\nservices:\n  s: {ports: ["2:2"]}\n' });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({ services: { s: { image: 'a', ports: ['1:1', '2:2'] } } });
  });
});

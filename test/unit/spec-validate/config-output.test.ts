import { expect, test } from 'vitest';
import { renderConfig } from '../../../src/spec/config-output.js';
import { normalize } from '../../../src/spec/normalize.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

test('every normalized key prints back in compose long syntax', () => {
  const raw = rawSpec(`services:
  web:
    image: nginx
    build: {context: ./app, args: [A=1]}
    entrypoint: /bin/tini --
    command: nginx -g 'daemon off;'
    environment: [A=1]
    working_dir: /w
    user: "1000"
    hostname: h
    container_name: c
    ports: ["0.0.0.0:8080:80", "53/udp"]
    expose: [80]
    volumes: [./a:/a:ro, data:/d, /anon]
    tmpfs: ["/t:size=1k,mode=1777"]
    networks: {n: {aliases: [w], ipv4_address: 10.1.0.5, priority: 2}}
    extra_hosts: ["gw:host-gateway"]
    depends_on: [db]
    healthcheck: {test: [CMD, "true"], interval: 1m30s}
    restart: on-failure:2
    stop_signal: SIGINT
    stop_grace_period: 1s
    init: true
    read_only: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    cpus: 0.5
    mem_limit: 64m
    pids_limit: 10
    develop: {watch: [{path: ./src, action: restart, ignore: [x]}]}
    profiles: [p]
    labels: {l: v}
  db: {command: db, networks: [ext]}
networks:
  n: {internal: true, ipam: {config: [{subnet: 10.1.0.0/24}]}}
  ext: {external: true, name: shared}
volumes:
  data: {labels: [k=v]}
`);
  expect(validate(raw)).toEqual([]);
  const { project, diagnostics } = normalize(raw, { profiles: ['p'] });
  expect(diagnostics).toEqual([]);
  expect(renderConfig(project)).toMatchInlineSnapshot(`
    "name: proj
    services:
      db:
        command:
          - db
        networks:
          ext: null
      web:
        build:
          context: /proj/app
          args:
            A: "1"
        cap_add:
          - NET_ADMIN
        cap_drop:
          - ALL
        command:
          - nginx
          - -g
          - daemon off;
        container_name: c
        depends_on:
          db:
            condition: service_started
            required: true
            restart: false
        deploy:
          resources:
            limits:
              cpus: 0.5
              memory: 67108864
              pids: 10
        develop:
          watch:
            - path: /proj/src
              action: restart
              ignore:
                - x
        entrypoint:
          - /bin/tini
          - --
        environment:
          A: "1"
        expose:
          - "80"
        extra_hosts:
          - gw=host-gateway
        healthcheck:
          test:
            - CMD
            - "true"
          interval: 1m30s
          timeout: 30s
          retries: 3
          start_period: 0s
          start_interval: 5s
        hostname: h
        image: nginx
        init: true
        labels:
          l: v
        networks:
          "n":
            aliases:
              - w
            ipv4_address: 10.1.0.5
            priority: 2
        ports:
          - target: 80
            published: "8080"
            host_ip: 0.0.0.0
            protocol: tcp
          - target: 53
            host_ip: 127.0.0.1
            protocol: udp
        profiles:
          - p
        read_only: true
        restart: on-failure:2
        stop_grace_period: 1s
        stop_signal: SIGINT
        user: "1000"
        volumes:
          - type: bind
            source: /proj/a
            target: /a
            read_only: true
            bind:
              create_host_path: true
          - type: volume
            source: data
            target: /d
          - type: volume
            target: /anon
          - type: tmpfs
            target: /t
            tmpfs:
              size: 1024
              mode: "1777"
        working_dir: /w
    networks:
      ext:
        name: shared
        external: true
      "n":
        name: proj_n
        internal: true
        ipam:
          config:
            - subnet: 10.1.0.0/24
    volumes:
      data:
        name: proj_data
        labels:
          k: v
    "
  `);
});

test('image keys print back and load again to the same service: pull_policy, platform, nocopy, healthcheck timings or disable', () => {
  const text = `services:
  db:
    image: postgres:15
    platform: linux/arm64
    pull_policy: every_12h
    volumes: ["data:/var/lib/postgresql/data:nocopy"]
    healthcheck: {interval: 3s, retries: 4}
  cache:
    image: redis:7
    pull_policy: if_not_present
    healthcheck: {disable: true}
volumes: {data: {}}
`;
  const load = (t: string) => {
    const raw = rawSpec(t, { env: {}, workingDir: '/proj' });
    expect(validate(raw)).toEqual([]);
    return normalize(raw, { profiles: [] }).project;
  };
  const first = load(text);
  const printed = renderConfig(first, 'yaml');
  expect(printed).toMatch(/pull_policy: every_12h/);
  expect(printed).toMatch(/platform: linux\/arm64\/v8/);
  expect(printed).toMatch(/nocopy: true/);
  expect(printed).toMatch(/pull_policy: missing/);
  const again = load(printed);
  for (const name of ['db', 'cache']) {
    const [a, b] = [first.services[name]!, again.services[name]!];
    expect({ p: b.pullPolicy, pl: b.platform, v: b.volumes, t: b.healthcheckTimings, d: b.healthcheckDisabled }).toEqual({ p: a.pullPolicy, pl: a.platform, v: a.volumes, t: a.healthcheckTimings, d: a.healthcheckDisabled });
  }
});

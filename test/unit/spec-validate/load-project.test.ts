import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadProject, renderConfig, SpecError } from '../../../src/spec/index.js';

const fixtures = resolve(import.meta.dirname, '../../fixtures/spec-validate');
const project = resolve(fixtures, 'project');

describe('loadProject', () => {
  test('loads, interpolates from .env, normalizes and warns about cosmetic keys', async () => {
    const { project: p, warnings } = await loadProject({ cwd: project, env: { SECRET: 's3cret' } });
    expect(p.name).toBe('demo');
    expect(p.files).toEqual([resolve(project, 'stack.yaml')]);
    expect(Object.keys(p.services)).toEqual(['api', 'db']);
    expect(p.services.api!.environment).toEqual({ DB_HOST: 'db', FROM_FILE: 'yes', LOG_LEVEL: 'info', SECRET: 's3cret' });
    expect(p.services.api!.command).toEqual(['node', 'server.js', '--port', '3000']);
    expect(p.services.api!.ports).toEqual([{ hostIp: '127.0.0.1', hostPort: 3000, containerPort: 3000, protocol: 'tcp' }]);
    expect(warnings.map((w) => `${w.code} ${w.path?.join('.')} ${w.location?.line}`)).toEqual(['IGNORED_KEY services.db.annotations 30']);
    expect(Object.isFrozen(p.services.api!.ports)).toBe(true);
  });

  test('--profile enables profiled services', async () => {
    const { project: p } = await loadProject({ cwd: project, env: {}, profiles: ['debug'] });
    expect(Object.keys(p.services)).toEqual(['api', 'db', 'debug']);
    expect(p.services.debug!.command).toEqual(['sleep', 'infinity']);
  });

  test('every error of a file at once, in reading order, with file:line:col', async () => {
    const err = await loadProject({ cwd: resolve(fixtures, 'broken'), env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    const diags = (err as SpecError).diagnostics;
    expect(diags.map((d) => `${d.location?.line}:${d.location?.col} ${d.code}`)).toEqual(['3:5 UNKNOWN_KEY', '10:5 UNSUPPORTED']);
    const mixed = await loadProject({ cwd: resolve(fixtures, 'broken'), files: ['mixed.yaml'], env: {} }).catch((e: unknown) => e);
    expect((mixed as SpecError).diagnostics.map((d) => `${d.location?.line} ${d.code}`)).toEqual(['3 UNKNOWN_KEY', '6 BAD_PORT', '8 UNDEFINED_SERVICE']);
    expect((err as SpecError).code).toBe('SPEC_INVALID');
    expect((err as SpecError).message).toContain('did you mean `image`?');
  });

  test('semantic errors (ports, cycles) are reported together once the structure is right', async () => {
    const err = await loadProject({ cwd: resolve(fixtures, 'broken'), files: ['stack.yaml', 'fixed.yaml'], env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    const diags = (err as SpecError).diagnostics.filter((d) => d.severity === 'error');
    expect(diags.map((d) => d.code).sort()).toEqual(['BAD_PORT', 'CYCLE']);
    expect(diags.find((d) => d.code === 'CYCLE')!.message).toBe('dependency cycle: api -> web -> api');
    expect(formatDiagnostic(diags.find((d) => d.code === 'BAD_PORT')!, fixtures)).toContain('broken/stack.yaml:5:');
  });
});

describe('renderConfig', () => {
  test('prints the normalized project like docker compose config (YAML)', async () => {
    const { project: p } = await loadProject({ cwd: project, env: { SECRET: 's' } });
    const text = renderConfig(p).replaceAll(project, '<dir>');
    expect(text).toMatchInlineSnapshot(`
      "name: demo
      services:
        api:
          command:
            - node
            - server.js
            - --port
            - "3000"
          depends_on:
            db:
              condition: service_healthy
              required: true
              restart: false
          deploy:
            resources:
              limits:
                memory: 268435456
          develop:
            watch:
              - path: <dir>/src
                action: sync+restart
                target: /app/src
          environment:
            DB_HOST: db
            FROM_FILE: "yes"
            LOG_LEVEL: info
            SECRET: s
          healthcheck:
            test:
              - CMD-SHELL
              - wget -qO- localhost:3000
            interval: 5s
            timeout: 30s
            retries: 3
            start_period: 0s
            start_interval: 5s
          networks:
            back: null
          ports:
            - target: 3000
              published: "3000"
              host_ip: 127.0.0.1
              protocol: tcp
          restart: on-failure:3
          volumes:
            - type: bind
              source: <dir>/src
              target: /app/src
              read_only: true
              bind:
                create_host_path: true
            - type: volume
              source: data
              target: /data
        db:
          command:
            - postgres
            - -D
            - /data
          healthcheck:
            test:
              - CMD
              - pg_isready
            interval: 2s
            timeout: 30s
            retries: 10
            start_period: 0s
            start_interval: 5s
          networks:
            back:
              aliases:
                - database
          stop_signal: SIGINT
          user: postgres
      networks:
        back:
          name: demo_back
      volumes:
        data:
          name: demo_data
      "
    `);
  });

  test('JSON has the same document', async () => {
    const { project: p } = await loadProject({ cwd: project, env: {} });
    const doc = JSON.parse(renderConfig(p, 'json'));
    expect(doc.name).toBe('demo');
    expect(doc.services.db).toEqual({
      command: ['postgres', '-D', '/data'],
      healthcheck: { test: ['CMD', 'pg_isready'], interval: '2s', timeout: '30s', retries: 10, start_period: '0s', start_interval: '5s' },
      networks: { back: { aliases: ['database'] } },
      stop_signal: 'SIGINT',
      user: 'postgres',
    });
    expect(doc.networks).toEqual({ back: { name: 'demo_back' } });
    expect(doc.volumes).toEqual({ data: { name: 'demo_data' } });
  });
});

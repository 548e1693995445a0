// The round trip: every service, port, volume, secret, config, env var and healthcheck of the
// spec is found in the manifests. The only losses allowed are the ones issue 13 names (a bind
// mount of a host folder, a device, a user given by name, a port published outside the cluster
// under --service-type ClusterIP, an external object the export does not write), each with a
// warning under its service and key; any other loss fails.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProject, type Project } from '../../../src/spec/index.js';
import { exportKube, type ExportOptions, type KubeExport, type KubeObject } from '../../../src/export/index.js';
import { literal } from '../../../src/export/container.js';
import { probeCommand } from '../../../src/export/probes.js';
import { toDnsLabel } from '../../../src/export/naming.js';
import { projectDir, podTemplate } from './kube-check.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A loss the issue names: its key, and what kind of item it may hide. */
const ALLOWED: readonly { key: RegExp; what: RegExp }[] = [
  { key: /^volumes\[\d+\]$/, what: /^bind mount / },
  { key: /^devices\[\d+\]$/, what: /^device / },
  { key: /^user$/, what: /^user / },
  { key: /^ports\[\d+\]$/, what: /^published port / },
  { key: /^(volumes|secrets|configs)\.[^.]+\.external$/, what: /^(volume|secret|config) object / },
];

interface Loss {
  readonly service?: string;
  readonly key: string;
  readonly what: string;
}

type Rec = Record<string, any>;

/** What of the spec the manifests do not carry. */
function lost(project: Project, result: KubeExport, selected?: readonly string[]): Loss[] {
  const out: Loss[] = [];
  const objects = result.objects;
  const get = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as (KubeObject & Rec) | undefined;
  const workloadOf = (svc: string) =>
    objects.find((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind) && (o.metadata.annotations?.['stack.compose/service'] ?? o.metadata.name) === svc);
  for (const s of Object.values(project.services)) {
    if (selected && !selected.includes(s.name)) continue;
    const w = workloadOf(s.name);
    if (!w) {
      out.push({ service: s.name, key: s.name, what: `service ${s.name}` });
      continue;
    }
    const name = w.metadata.name;
    const c = (podTemplate(w)!.spec.containers as Rec[])[0]!;
    const svc = get('Service', name);
    const svcPorts = new Set(((svc?.spec as Rec)?.ports ?? []).map((p: Rec) => `${p.protocol}/${p.port}/${p.targetPort}`));
    const pub = new Set(((get('Service', `${name}-published`)?.spec as Rec)?.ports ?? []).map((p: Rec) => `${p.protocol}/${p.port}/${p.targetPort}`));
    s.ports.forEach((p, i) => {
      const proto = p.protocol.toUpperCase();
      if (!svcPorts.has(`${proto}/${p.containerPort}/${p.containerPort}`)) out.push({ service: s.name, key: `ports[${i}]`, what: `port ${p.containerPort}` });
      if (!pub.has(`${proto}/${p.hostPort || p.containerPort}/${p.containerPort}`)) out.push({ service: s.name, key: `ports[${i}]`, what: `published port ${p.hostPort}` });
    });
    s.expose.forEach((e, i) => {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(String(e))!;
      for (let port = Number(m[1]); port <= Number(m[2] ?? m[1]); port++) {
        if (!svcPorts.has(`${(m[3] ?? 'tcp').toUpperCase()}/${port}/${port}`)) out.push({ service: s.name, key: `expose[${i}]`, what: `port ${port}` });
      }
    });
    const mounts = new Map(((c.volumeMounts ?? []) as Rec[]).map((m) => [m.mountPath as string, m]));
    s.volumes.forEach((v, i) => {
      if (!mounts.has(v.target)) out.push({ service: s.name, key: `volumes[${i}]`, what: `${v.type === 'bind' ? 'bind mount' : v.type} at ${v.target}` });
      if (v.type === 'volume' && v.source !== undefined) {
        const def = project.volumes[v.source]!;
        if (!get('PersistentVolumeClaim', toDnsLabel(def.external ? def.name : v.source))) out.push({ key: `volumes.${v.source}${def.external ? '.external' : ''}`, what: `volume object ${v.source}` });
      }
    });
    for (const kind of ['secrets', 'configs'] as const) {
      (s[kind] ?? []).forEach((m, i) => {
        if (!mounts.has(m.target)) out.push({ service: s.name, key: `${kind}[${i}]`, what: `${kind} at ${m.target}` });
        const def = project[kind]![m.source]!;
        const external = def.source.type === 'external';
        if (!get(kind === 'secrets' ? 'Secret' : 'ConfigMap', toDnsLabel(external ? def.name : m.source))) {
          out.push({ key: `${kind}.${m.source}${external ? '.external' : ''}`, what: `${kind === 'secrets' ? 'secret' : 'config'} object ${m.source}` });
        }
      });
    }
    const env = new Map(((c.env ?? []) as Rec[]).map((e) => [e.name as string, e.value as string]));
    for (const [k, v] of Object.entries(s.environment)) {
      if (env.get(k) !== literal(v)) out.push({ service: s.name, key: `environment.${k}`, what: `env var ${k}` });
    }
    if (s.healthcheck) {
      const cmd = probeCommand(s.healthcheck);
      if (JSON.stringify(c.readinessProbe?.exec?.command) !== JSON.stringify(cmd)) out.push({ service: s.name, key: 'healthcheck', what: 'healthcheck' });
    }
    s.devices.forEach((d, i) => out.push({ service: s.name, key: `devices[${i}]`, what: `device ${d.source}` }));
    if (s.user !== undefined && !/^\d+(:\d+)?$/.test(s.user) && c.securityContext?.runAsUser === undefined) {
      out.push({ service: s.name, key: 'user', what: `user ${s.user}` });
    }
  }
  return out;
}

/** The losses that are not allowed, or allowed but not named by a warning. */
function unexplained(project: Project, result: KubeExport, selected?: readonly string[]): string[] {
  return lost(project, result, selected)
    .filter((l) => {
      const allowed = ALLOWED.some((a) => a.key.test(l.key) && a.what.test(l.what));
      const named = result.warnings.some((w) => w.service === l.service && w.key === l.key);
      return !(allowed && named);
    })
    .map((l) => `${l.service ?? '(project)'}: ${l.key}: ${l.what}`);
}

const RICH = `
name: rich
services:
  web:
    image: nginx
    ports: ["0.0.0.0:80:80", "127.0.0.1:8443:443/tcp", "9000"]
    expose: ["7000-7001", "53/udp"]
    environment: { A: "1", B: "x$$(y)", DB_URL: "postgres://db:5432/app" }
    volumes: ["./site:/usr/share/nginx/html:ro", "cache:/cache", { type: tmpfs, target: /tmp/t }]
    secrets: [pw, ext]
    configs: [{ source: conf, target: /etc/conf.ini }]
    devices: ["/dev/null:/dev/x"]
    user: www-data
    healthcheck: { test: "curl -f localhost", start_period: 5s }
    depends_on: { db: { condition: service_healthy } }
  db:
    image: postgres
    expose: [5432]
    user: "999:999"
    volumes: [data:/var/lib/postgresql/data, ext_vol:/backup]
    healthcheck: { test: [CMD, pg_isready] }
volumes: { cache: {}, data: {}, ext_vol: { external: true } }
secrets: { pw: { environment: PW }, ext: { external: true } }
configs: { conf: { content: "x=1" } }
`;

async function load(dir: string, file?: string, env: Record<string, string> = {}): Promise<Project> {
  return (await loadProject({ cwd: dir, files: file ? [file] : undefined, projectName: 'rt', env })).project;
}

describe('round trip: the spec is found in the manifests, or its loss is one the issue names', () => {
  const cases: { name: string; dir: string; file?: string }[] = [
    ...readdirSync(join(ROOT, 'test/fixtures/export/awesome-compose'))
      .filter((f) => f.endsWith('.compose.yaml') && !f.startsWith('nginx-golang-postgres'))
      .map((f) => ({ name: f, dir: join(ROOT, 'test/fixtures/export/awesome-compose'), file: f })),
    { name: 'examples/images-dev', dir: join(ROOT, 'examples/images-dev') },
    { name: 'rich', dir: projectDir({ 'compose.yaml': RICH }), file: 'compose.yaml' },
  ];
  for (const c of cases) {
    for (const serviceType of ['LoadBalancer', 'NodePort', 'ClusterIP'] as const) {
      it(`${c.name} (${serviceType})`, async () => {
        const env = { PW: 'pw' };
        const project = await load(c.dir, c.file, env);
        const options: ExportOptions = { serviceType, services: [], env };
        const result = exportKube(project, options);
        expect(unexplained(project, result)).toEqual([]);
      });
    }
  }

  it('the rich spec has every kind of allowed loss, each named', async () => {
    const project = await load(projectDir({ 'compose.yaml': RICH }), 'compose.yaml', { PW: 'pw' });
    const result = exportKube(project, { serviceType: 'ClusterIP', services: [], env: { PW: 'pw' } });
    const keys = lost(project, result).map((l) => l.key);
    expect(keys).toEqual(expect.arrayContaining(['volumes[0]', 'devices[0]', 'user', 'ports[0]', 'volumes.ext_vol.external', 'secrets.ext.external']));
  });

  it('fails on a loss no warning names, and on a named loss the issue does not allow', async () => {
    const project = await load(projectDir({ 'compose.yaml': RICH }), 'compose.yaml', { PW: 'pw' });
    const result = exportKube(project, { serviceType: 'LoadBalancer', services: [], env: { PW: 'pw' } });
    const broken = JSON.parse(JSON.stringify(result)) as { objects: Rec[]; warnings: KubeExport['warnings'] };
    const web = broken.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'web')!;
    web.spec.template.spec.containers[0].env.shift();
    web.spec.template.spec.containers[0].readinessProbe = undefined;
    expect(unexplained(project, broken as unknown as KubeExport)).toEqual(['web: environment.A: env var A', 'web: healthcheck: healthcheck']);
    const named = { ...broken, warnings: [...broken.warnings, { service: 'web', key: 'environment.A', message: 'dropped' }] };
    expect(unexplained(project, named as unknown as KubeExport)).toContain('web: environment.A: env var A');
  });
});

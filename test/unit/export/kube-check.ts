// Checks of exported manifests: each object against the Kubernetes OpenAPI schema (the
// kubernetes-models package carries the schemas and validates with ajv, offline), and what a
// schema cannot see: selectors that match their pods, names that are DNS-1123 labels, volume
// mounts that have their volume, references to objects that exist in the export.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { loadProject } from '../../../src/spec/index.js';
import { exportKube, type ExportOptions, type KubeExport, type KubeObject } from '../../../src/export/index.js';

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace as unknown as Model,
  'v1/ConfigMap': ConfigMap as unknown as Model,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as Model,
  'v1/Secret': Secret as unknown as Model,
  'v1/Service': Service as unknown as Model,
  'v1/ServiceAccount': ServiceAccount as unknown as Model,
  'apps/v1/Deployment': Deployment as unknown as Model,
  'apps/v1/StatefulSet': StatefulSet as unknown as Model,
  'apps/v1/DaemonSet': DaemonSet as unknown as Model,
  'batch/v1/Job': Job as unknown as Model,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Model,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as Model,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as Model,
};

/** The schema errors of one object ('' when it is valid). */
export function schemaErrors(o: KubeObject): string {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no schema for ${o.apiVersion} ${o.kind}`;
  try {
    new Model(JSON.parse(JSON.stringify(o)) as never).validate();
    return '';
  } catch (e) {
    return `${o.kind}/${o.metadata.name}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

type Rec = Record<string, unknown>;
const rec = (v: unknown) => (v ?? {}) as Rec;
const list = (v: unknown) => (Array.isArray(v) ? (v as Rec[]) : []);

/** The pod template of a workload, or undefined. */
export function podTemplate(o: KubeObject): { labels: Record<string, string>; spec: Rec } | undefined {
  if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind)) return undefined;
  const t = rec(rec(o.spec).template);
  return { labels: rec(rec(t.metadata).labels) as Record<string, string>, spec: rec(t.spec) };
}

/** Everything a schema cannot check, as a list of problems (empty when all hold). */
export function invariantErrors(objects: readonly KubeObject[]): string[] {
  const errors: string[] = [];
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  const pods = objects.map(podTemplate).filter((p) => p !== undefined);
  const byKind = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (seen.has(id)) errors.push(`${id}: twice`);
    seen.add(id);
    if (o.metadata.name.length > 63 || !LABEL.test(o.metadata.name)) errors.push(`${id}: name is not a DNS-1123 label starting with a letter`);
    const t = podTemplate(o);
    if (t) {
      const selector = rec(rec(o.spec).selector).matchLabels as Record<string, string> | undefined;
      if (o.kind !== 'Job' && (!selector || !Object.keys(selector).length || !matches(selector, t.labels))) errors.push(`${id}: selector does not match its pod labels`);
      const volumes = new Set(list(t.spec.volumes).map((v) => v.name as string));
      for (const v of volumes) if (!LABEL.test(v) && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)) errors.push(`${id}: volume name ${v} is not a DNS-1123 label`);
      for (const c of [...list(t.spec.containers), ...list(t.spec.initContainers)]) {
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(String(c.name)) || String(c.name).length > 63) errors.push(`${id}: container name ${String(c.name)} is not a DNS-1123 label`);
        for (const m of list(c.volumeMounts)) if (!volumes.has(m.name as string)) errors.push(`${id}: mount ${String(m.name)} at ${String(m.mountPath)} has no volume`);
      }
      for (const v of list(t.spec.volumes)) {
        const claim = rec(v.persistentVolumeClaim).claimName as string | undefined;
        if (claim && !byKind('PersistentVolumeClaim').has(claim) && !claim.startsWith('external-')) errors.push(`${id}: claim ${claim} is not exported`);
        const secret = rec(v.secret).secretName as string | undefined;
        if (secret && !byKind('Secret').has(secret)) errors.push(`${id}: Secret ${secret} is not exported`);
        const cm = rec(v.configMap).name as string | undefined;
        if (cm && !byKind('ConfigMap').has(cm)) errors.push(`${id}: ConfigMap ${cm} is not exported`);
      }
      if (o.kind === 'StatefulSet' && !byKind('Service').has(String(rec(o.spec).serviceName))) errors.push(`${id}: its headless Service is missing`);
    }
    if (o.kind === 'Service' || o.kind === 'NetworkPolicy') {
      const selector = o.kind === 'Service' ? (rec(o.spec).selector as Record<string, string> | undefined) : (rec(rec(o.spec).podSelector).matchLabels as Record<string, string> | undefined);
      if (!selector || !pods.some((p) => matches(selector, p.labels))) errors.push(`${id}: selector matches no pod`);
    }
    if (o.metadata.namespace === undefined && o.kind !== 'Namespace') errors.push(`${id}: no namespace`);
  }
  return errors;
}

/** The temporary folders this test file made, removed once its tests are done. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary folder (`stack-export-<prefix>…`), removed after the test file's tests. */
export function tempDir(prefix = ''): string {
  const dir = mkdtempSync(join(tmpdir(), `stack-export-${prefix}`));
  made.push(dir);
  return dir;
}

/** Writes `files` into a new temporary folder and returns it. */
export function projectDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Loads a compose file and exports it (LoadBalancer, all services unless told). */
export async function exportFile(
  dir: string,
  file: string,
  options: Partial<ExportOptions> = {},
  env: Record<string, string | undefined> = {},
): Promise<KubeExport> {
  const { project } = await loadProject({ cwd: dir, files: [file], env });
  return exportKube(project, { serviceType: 'LoadBalancer', services: [], env, ...options });
}

/** Exports an inline compose spec. */
export async function exportSpec(yaml: string, options: Partial<ExportOptions> = {}, extra: Record<string, string> = {}): Promise<KubeExport> {
  const dir = projectDir({ 'compose.yaml': yaml, ...extra });
  return exportFile(dir, 'compose.yaml', { ...options }, options.env ?? {});
}

/** The object of a kind and name (throws when absent). */
export function find(result: KubeExport, kind: string, name: string): KubeObject & { spec: Rec } {
  const o = result.objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${result.objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o as KubeObject & { spec: Rec };
}

/** The main container of a workload. */
export function mainContainer(o: KubeObject): Rec {
  return list(podTemplate(o)!.spec.containers)[0]!;
}

/**
 * For a test file whose every export is checked after each test: valid against the Kubernetes
 * schemas and holding together (invariantErrors). `exp` exports as `exportSpec` does; `check`
 * has a result made another way checked the same. Call at the file's top level.
 */
export function checkedExports(): {
  exp: (yaml: string, options?: Partial<ExportOptions>, extra?: Record<string, string>) => Promise<KubeExport>;
  check: (result: KubeExport) => KubeExport;
} {
  let last: KubeExport | undefined;
  afterEach(() => {
    if (!last) return;
    expect(last.objects.map(schemaErrors).filter(Boolean)).toEqual([]);
    expect(invariantErrors(last.objects)).toEqual([]);
    last = undefined;
  });
  return {
    exp: async (yaml, options = {}, extra = {}) => (last = await exportSpec(yaml, options, extra)),
    check: (result) => (last = result),
  };
}

// secrets → Secrets, configs → ConfigMaps, each mounted as one file at the path the service
// had it (`/run/secrets/NAME`, `/NAME`, or `target`). The value is read now, from the file or
// the variable the spec names: a manifest carries it to the cluster.
import { readFileSync } from 'node:fs';
import type { SecretDef, SecretMount, Service } from '../spec/index.js';
import { meta, type ExportContext } from './context.js';
import { projectLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { toDnsLabel } from './naming.js';
import type { PodVolumes } from './volumes.js';

/** The data key a secret's or config's value is stored under. */
export function dataKey(key: string): string {
  const cleaned = key.replace(/[^-._a-zA-Z0-9]/g, '-');
  return cleaned === '.' || cleaned === '..' ? `x${cleaned}` : cleaned;
}

type Kind = 'secrets' | 'configs';

/** The Secret and ConfigMap objects for the secrets and configs the exported services use. */
export function secretObjects(ctx: ExportContext): KubeObject[] {
  const out: KubeObject[] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    const defs = ctx.project[kind] ?? {};
    const used = new Set(ctx.services.flatMap((s) => (s[kind] ?? []).map((m) => m.source)));
    for (const key of [...used].sort()) {
      const def = defs[key];
      if (!def) continue;
      const name = objectName(ctx, kind, key);
      if (def.source.type === 'external') {
        ctx.findings.warn(undefined, `${kind}.${key}.external`, `no ${kind === 'secrets' ? 'Secret' : 'ConfigMap'} is written: the pods use an existing one named "${name}"`);
        continue;
      }
      const value = readValue(ctx, kind, def);
      const metadata = meta(ctx, name, projectLabels(ctx.project.name));
      if (kind === 'secrets') {
        out.push({ apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data: { [dataKey(key)]: value.toString('base64') } });
      } else {
        const text = value.toString('utf8');
        const isText = Buffer.from(text, 'utf8').equals(value);
        out.push({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata,
          ...(isText ? { data: { [dataKey(key)]: text } } : { binaryData: { [dataKey(key)]: value.toString('base64') } }),
        });
      }
    }
  }
  return out;
}

/** The name of the Secret or ConfigMap of a secret or config key. */
function objectName(ctx: ExportContext, kind: Kind, key: string): string {
  return (kind === 'secrets' ? ctx.names.secrets : ctx.names.configs).get(key)!;
}

function readValue(ctx: ExportContext, kind: Kind, def: SecretDef): Buffer {
  const where = `${kind}.${def.key}`;
  const src = def.source;
  if (src.type === 'content') return Buffer.from(src.content, 'utf8');
  if (src.type === 'environment') {
    const value = ctx.options.env[src.variable];
    if (value === undefined) {
      ctx.findings.warn(undefined, `${where}.environment`, `variable ${src.variable} is not set: the object is written empty (set it and export again)`);
      return Buffer.alloc(0);
    }
    return Buffer.from(value, 'utf8');
  }
  if (src.type === 'file') {
    try {
      return readFileSync(src.path);
    } catch {
      ctx.findings.warn(undefined, `${where}.file`, `${src.path} cannot be read: the object is written empty (create the file and export again)`);
      return Buffer.alloc(0);
    }
  }
  return Buffer.alloc(0);
}

/** The pod volumes and mounts of a service's `secrets` and `configs`. */
export function secretVolumes(ctx: ExportContext, service: Service): PodVolumes {
  const volumes: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    (service[kind] ?? []).forEach((m: SecretMount, i) => {
      const key = `${kind}[${i}]`;
      const name = toDnsLabel(`${kind === 'secrets' ? 'secret' : 'config'}-${i}-${m.source}`);
      const item = { key: dataKey(m.source), path: dataKey(m.source), ...(m.mode !== undefined ? { mode: m.mode } : {}) };
      const source =
        kind === 'secrets'
          ? { secret: { secretName: objectName(ctx, kind, m.source), items: [item] } }
          : { configMap: { name: objectName(ctx, kind, m.source), items: [item] } };
      volumes.push({ name, ...source });
      mounts.push({ name, mountPath: m.target, subPath: item.path, readOnly: true });
      if (m.uid !== undefined || m.gid !== undefined) {
        ctx.findings.warn(service.name, `${key}.uid`, 'the file\'s owner (uid/gid) is not carried: a mounted Secret or ConfigMap file belongs to root (or the pod\'s fsGroup)');
      }
    });
  }
  return { volumes, mounts };
}

// Volumes: a named volume → a PersistentVolumeClaim (ReadWriteMany when two services share
// it), an anonymous volume → an emptyDir, tmpfs (and shm_size) → an emptyDir in memory. A bind
// mount of a host folder cannot be carried (a pod runs on some node, not on this machine).
// A named volume whose driver_opts make it a tmpfs → an emptyDir in memory in each pod (its size
// from `size=`), one whose driver_opts bind a host folder → a claim like any other, whose pods
// start without the folder's files.
import type { Mount, Service } from '../spec/index.js';
import { meta, type ExportContext } from './context.js';
import { labelAnnotations, projectLabels } from './labels.js';
import type { KubeObject } from './manifest.js';
import { toDnsLabel } from './naming.js';

/** The volume label that sets a claim's size (`10Gi`), as `--volume-size` does for all. */
export const SIZE_LABEL = 'stack.export.size';
/** A claim's size when neither the label nor `--volume-size` gives one. */
export const DEFAULT_SIZE = '1Gi';

const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** A pod volume and where a container mounts it. */
export interface PodVolumes {
  readonly volumes: Record<string, unknown>[];
  readonly mounts: Record<string, unknown>[];
}

/** True when `size` is a Kubernetes quantity (`512Mi`, `10Gi`, `1000000`). */
export function isQuantity(size: string): boolean {
  return QUANTITY.test(size);
}

/** Exported services using each named volume, by volume key. */
export function volumeUsers(ctx: ExportContext): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const s of ctx.services) {
    for (const m of [...s.volumes, ...borrowed(ctx, s).map((b) => b.mount)]) {
      if (m.type !== 'volume' || m.source === undefined) continue;
      const list = users.get(m.source) ?? [];
      if (!list.includes(s.name)) list.push(s.name);
      users.set(m.source, list);
    }
  }
  return users;
}

/** The mounts a service takes from others with `volumes_from` (read-only with `:ro`). */
export function borrowed(ctx: ExportContext, service: Service): { mount: Mount; from: string; readOnly: boolean }[] {
  const out: { mount: Mount; from: string; readOnly: boolean }[] = [];
  for (const vf of service.volumesFrom ?? []) {
    const from = ctx.project.services[vf.service];
    if (!from) continue;
    for (const mount of from.volumes) out.push({ mount, from: vf.service, readOnly: vf.mode === 'ro' || mount.readOnly });
  }
  return out;
}

/** True when the service keeps data in a named volume (it becomes a StatefulSet); a tmpfs volume keeps none. */
export function hasNamedVolume(ctx: ExportContext, service: Service): boolean {
  return [...service.volumes, ...borrowed(ctx, service).map((b) => b.mount)].some((m) => m.type === 'volume' && m.source !== undefined && !memoryVolume(ctx, m.source));
}

/** Whether the named volume `key` is a tmpfs of its own (driver_opts type tmpfs). */
function memoryVolume(ctx: ExportContext, key: string): boolean {
  return ctx.project.volumes[key]?.mount?.kind === 'tmpfs';
}

/** An emptyDir in memory for the tmpfs volume `key`, sized by its `size=` (a size in % of memory is left to the kubelet: warned). */
function memoryDir(ctx: ExportContext, service: Service, key: string): Record<string, unknown> {
  const size = ctx.project.volumes[key]?.mount?.options.find((o) => o.startsWith('size='))?.slice(5);
  const quantity = size === undefined ? undefined : tmpfsQuantity(size);
  if (size !== undefined && quantity === undefined) {
    ctx.findings.warn(service.name, `volumes.${key}.driver_opts.o`, `tmpfs size ${size} left out: an emptyDir's sizeLimit is a quantity (e.g. 64Mi)`);
  }
  return { emptyDir: { medium: 'Memory', ...(quantity !== undefined ? { sizeLimit: quantity } : {}) } };
}

/** A tmpfs `size=` (bytes, or k/m/g: KiB, MiB, GiB) as a Kubernetes quantity; undefined for a share of memory (`50%`). */
function tmpfsQuantity(size: string): string | undefined {
  const m = /^(\d+)([kmgKMG]?)$/.exec(size);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  return unit === '' ? m[1] : `${m[1]}${unit.toUpperCase()}i`;
}

/** One PersistentVolumeClaim per named volume the exported services use (external ones excepted). */
export function claims(ctx: ExportContext): KubeObject[] {
  const out: KubeObject[] = [];
  for (const [key, users] of [...volumeUsers(ctx)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const volume = ctx.project.volumes[key];
    if (!volume) continue;
    const name = ctx.names.volumes.get(key)!;
    if (volume.external) {
      ctx.findings.warn(undefined, `volumes.${key}.external`, `no claim is written: the pods use an existing PersistentVolumeClaim named "${name}"`);
      continue;
    }
    if (volume.mount?.kind === 'tmpfs') continue; // an emptyDir in each pod (serviceVolumes)
    if (volume.mount?.kind === 'bind') {
      ctx.findings.warn(undefined, `volumes.${key}.driver_opts`, `host folder ${volume.mount.device} (bound by driver_opts) is not carried: the claim starts empty`);
    }
    const shared = users.length > 1;
    if (shared) {
      ctx.findings.warn(undefined, `volumes.${key}`, `shared by ${users.join(', ')}: the claim asks for ReadWriteMany, which only some storage classes offer (on others the pods stay Pending)`);
    }
    const { [SIZE_LABEL]: labelSize, ...labels } = volume.labels;
    const size = claimSize(ctx, key, labelSize);
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(ctx, name, projectLabels(ctx.project.name), labelAnnotations(labels, ctx.findings, undefined, `volumes.${key}.labels`)),
      spec: { accessModes: [shared ? 'ReadWriteMany' : 'ReadWriteOnce'], resources: { requests: { storage: size } } },
    });
  }
  return out;
}

function claimSize(ctx: ExportContext, key: string, labelSize: string | undefined): string {
  if (labelSize !== undefined) {
    if (isQuantity(labelSize)) return labelSize;
    ctx.findings.refuse(undefined, `volumes.${key}.labels.${SIZE_LABEL}`, `"${labelSize}" is not a Kubernetes quantity`, 'write a size such as 512Mi or 10Gi');
    return DEFAULT_SIZE;
  }
  if (ctx.options.volumeSize !== undefined) return ctx.options.volumeSize;
  ctx.findings.warn(undefined, `volumes.${key}`, `a compose volume has no size; the claim asks for ${DEFAULT_SIZE} (label ${SIZE_LABEL} or --volume-size sets it)`);
  return DEFAULT_SIZE;
}

/** The pod volumes and container mounts of a service's `volumes`, `tmpfs` and `shm_size`. */
export function serviceVolumes(ctx: ExportContext, service: Service): PodVolumes {
  const volumes: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const add = (name: string, source: Record<string, unknown>) => {
    if (seen.has(name)) return;
    seen.add(name);
    volumes.push({ name, ...source });
  };
  service.volumes.forEach((m, i) => {
    const key = `volumes[${i}]`;
    const readOnly = m.readOnly ? { readOnly: true } : {};
    if (m.type === 'bind') {
      ctx.findings.warn(service.name, key, `bind mount of host path ${m.source} at ${m.target} left out: a pod cannot see this machine's folders (build the files into the image, or use a ConfigMap)`);
      return;
    }
    if (m.type === 'tmpfs') {
      const name = toDnsLabel(`tmpfs-${i}`);
      add(name, { emptyDir: { medium: 'Memory', ...(m.sizeBytes !== undefined ? { sizeLimit: String(m.sizeBytes) } : {}) } });
      if (m.mode !== undefined) ctx.findings.warn(service.name, `${key}.tmpfs.mode`, `mode ${m.mode.toString(8)} left out: an emptyDir's mode is set by the kubelet`);
      mounts.push({ name, mountPath: m.target, ...readOnly });
      return;
    }
    if (m.source === undefined) {
      const name = toDnsLabel(`anon-${i}`);
      add(name, { emptyDir: {} });
      mounts.push({ name, mountPath: m.target, ...readOnly });
      ctx.findings.warn(service.name, key, `anonymous volume at ${m.target} becomes an emptyDir: it starts empty (Docker copies the image's files at the target into a new volume) and goes with the pod`);
      return;
    }
    const claim = ctx.names.volumes.get(m.source)!;
    if (memoryVolume(ctx, m.source)) {
      const name = toDnsLabel(`mem-${claim}`);
      add(name, memoryDir(ctx, service, m.source));
      mounts.push({ name, mountPath: m.target, ...readOnly });
      const users = volumeUsers(ctx).get(m.source) ?? [];
      if (users.length > 1) ctx.findings.warn(service.name, key, `volume ${m.source} (a tmpfs) becomes an emptyDir in memory in each pod: ${users.join(', ')} share one tmpfs under stack, not in a cluster`);
      return;
    }
    const name = toDnsLabel(`vol-${claim}`);
    add(name, { persistentVolumeClaim: { claimName: claim } });
    mounts.push({ name, mountPath: m.target, ...readOnly });
    if (!m.noCopy) ctx.findings.warn(service.name, key, `volume ${m.source} at ${m.target} starts empty: Kubernetes does not copy the image's files at the target into a new volume as Docker does`);
  });
  for (const { mount: m, from, readOnly: ro } of borrowed(ctx, service)) {
    const key = 'volumes_from';
    if (m.type !== 'volume' || m.source === undefined || memoryVolume(ctx, m.source)) {
      const what = m.type !== 'volume' ? m.type : m.source === undefined ? 'anonymous volume' : `tmpfs volume ${m.source}`;
      ctx.findings.warn(service.name, key, `${from}'s ${what} at ${m.target} left out: only a named volume (a claim) can be shared between pods`);
      continue;
    }
    const claim = ctx.names.volumes.get(m.source)!;
    const name = toDnsLabel(`vol-${claim}`);
    add(name, { persistentVolumeClaim: { claimName: claim } });
    if (!mounts.some((x) => x.mountPath === m.target)) mounts.push({ name, mountPath: m.target, ...(ro ? { readOnly: true } : {}) });
  }
  if (service.shmSizeBytes !== undefined) {
    add('shm', { emptyDir: { medium: 'Memory', sizeLimit: String(service.shmSizeBytes) } });
    mounts.push({ name: 'shm', mountPath: '/dev/shm' });
  }
  return { volumes, mounts };
}

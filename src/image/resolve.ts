// Image resolution: before `up` plans, each image service is turned into the service it runs —
// the image pulled as its pull policy says (the caller pulls, with its own progress display),
// then the store's record and config read and merged into the service's fields as Docker merges
// them (service-config.ts): command, environment, working dir, stop signal, healthcheck and the
// image's Volumes as anonymous volumes, the user resolved in the image's own /etc/passwd, and
// `imageRoot` naming the layers the launcher stacks. The result is what is hashed (a tag that
// moved changes `imageRoot.id`: "image changed"), recorded in the snapshot and launched.
import { UserError } from '../errors.js';
import type { ImageRoot, Mount, Project, PullPolicy, Service } from '../spec/project.js';
import { parseImageConfig, type ImageConfig } from './manifest.js';
import { parseImageReference, type ImageReference } from './reference.js';
import {
  anonymousVolumeTargets,
  effectiveCommand,
  effectiveEnvironment,
  effectiveHealthcheck,
  effectiveStopSignal,
  effectiveUser,
  effectiveWorkingDir,
  exposedPorts,
} from './service-config.js';
import type { ImageRecord, ImageStore } from './store.js';
import { loadLayeredUserDb, resolveLayeredUser } from './layered.js';
import { addedGroups } from '../runtime/index.js';

/** What to pull: `up --pull` overrides every service's `pull_policy`; the default is `missing`. */
export type PullChoice = 'always' | 'missing' | 'never';

/** One image to pull before the project can be resolved. */
export interface PullRequest {
  /** The reference as the spec writes it (`postgres:16`). */
  readonly image: string;
  readonly reference: ImageReference;
  /** The services that name it (the first one's platform is used). */
  readonly services: readonly string[];
  readonly platform?: Service['platform'];
  /** Why: `missing` (not in the store), `always`, `refresh` (older than the policy allows). */
  readonly why: 'missing' | 'always' | 'refresh';
}

/** The policy a service's image is pulled by. */
export function pullPolicyOf(service: Service, override?: PullChoice): PullPolicy {
  return override ?? service.pullPolicy ?? 'missing';
}

/** A service's image reference, parsed; a bad one is a UserError naming the service. */
export function serviceReference(service: Service): ImageReference {
  try {
    return parseImageReference(service.image!);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.code, `service "${service.name}": ${e.message}`, e.hint, { cause: e });
    throw e;
  }
}

/** Whether the record's layers are all in the store (a record whose layer was removed is not usable), and its config. */
export async function complete(store: ImageStore, record: ImageRecord | undefined): Promise<boolean> {
  if (!record) return false;
  const present = await Promise.all(record.layers.map((l) => store.hasLayer(l)));
  return present.every(Boolean) && (await store.hasBlob(record.configDigest));
}

/**
 * The images `services` need pulled under their policies (each image once). A service whose
 * policy is `never` and whose image is missing is IMAGE_NOT_PRESENT.
 */
export async function imagesToPull(project: Project, services: readonly string[], store: ImageStore, override?: PullChoice, now = Date.now()): Promise<PullRequest[]> {
  const byName = new Map<string, { image: string; reference: ImageReference; services: string[]; platform?: Service['platform']; why?: PullRequest['why'] }>();
  for (const name of services) {
    const service = project.services[name];
    if (service?.image === undefined) continue;
    const reference = serviceReference(service);
    const policy = pullPolicyOf(service, override);
    const key = reference.canonical;
    let entry = byName.get(key);
    if (!entry) {
      entry = { image: service.image, reference, services: [], ...(service.platform && { platform: service.platform }) };
      byName.set(key, entry);
    }
    entry.services.push(name);
    if (entry.why !== undefined) continue;
    const record = await store.getRecord(key);
    const have = await complete(store, record);
    if (policy === 'always') entry.why = 'always';
    else if (!have) {
      if (policy === 'never') {
        throw new UserError('IMAGE_NOT_PRESENT', `service "${name}": image ${service.image} is not in the image store and its pull_policy is never`,
          `pull it first: \`stack pull ${name}\`, or change pull_policy`);
      }
      entry.why = 'missing';
    } else if (typeof policy === 'object' && now - Date.parse(record!.pulledAt) > policy.refreshAfterMs) entry.why = 'refresh';
  }
  const out: PullRequest[] = [];
  for (const e of byName.values()) {
    if (e.why !== undefined) out.push({ image: e.image, reference: e.reference, services: e.services, why: e.why, ...(e.platform && { platform: e.platform }) });
  }
  return out;
}

/** The image's healthcheck with the spec's timings over it (a spec `healthcheck:` without `test`). */
function withTimings(check: Service['healthcheck'], timings: Service['healthcheckTimings']): Service['healthcheck'] {
  return check === null || timings === undefined ? check : { ...check, ...timings };
}

/** The image's config, read from the store and checked against its digest. */
async function readConfig(store: ImageStore, record: ImageRecord, image: string): Promise<ImageConfig> {
  const bytes = await store.readBlob(record.configDigest);
  if (!bytes) throw notInStore(image, `its config ${record.configDigest} is missing`);
  return parseImageConfig(bytes, { image, digest: record.configDigest });
}

function notInStore(image: string, why: string): UserError {
  return new UserError('IMAGE_NOT_PRESENT', `image ${image} is not usable from the image store: ${why}`, `pull it again: \`stack pull\``);
}

/**
 * The service as it runs from its pulled image (see the file comment). The image must be in the
 * store (imagesToPull + a pull first); a host-program service is returned as it is.
 */
export async function resolveService(service: Service, store: ImageStore): Promise<Service> {
  if (service.image === undefined) return service;
  const image = service.image;
  const reference = serviceReference(service);
  const record = await store.getRecord(reference.canonical);
  if (!record) throw new UserError('IMAGE_NOT_PRESENT', `service "${service.name}": image ${image} is not in the image store`, `pull it: \`stack pull ${service.name}\``);
  if (!(await complete(store, record))) throw notInStore(image, 'a layer or its config is missing');
  const config = (await readConfig(store, record, image)).config ?? null;
  const layerDirs = record.layers.map((l) => store.layerDir(l));
  const command = effectiveCommand(service, config, image);
  const user = effectiveUser(service.user, config);
  const identity = resolveLayeredUser(service.name, image, user, layerDirs);
  // `group_add` names resolve in the image's /etc/group, never the host's.
  const named = (service.groupAdd ?? []).some((g) => !/^\d+$/.test(g));
  const added = addedGroups(service, named ? loadLayeredUserDb(layerDirs, image) : { passwd: [], group: [] });
  const anonymous: Mount[] = anonymousVolumeTargets(service.volumes, config, image).map((target) => ({ type: 'volume', target, readOnly: false }));
  const imageRoot: ImageRoot = {
    id: record.configDigest,
    reference: record.name,
    digest: record.digest,
    layers: [...record.layers],
    identity: { uid: identity.uid, gid: identity.gid, groups: [...new Set([...identity.groups, ...added])] },
    exposedPorts: exposedPorts(config).map((p) => `${p.port}/${p.protocol}`),
  };
  return {
    ...service,
    entrypoint: command.entrypoint,
    command: command.command,
    environment: effectiveEnvironment(service.environment, config, image),
    workingDir: effectiveWorkingDir(service.workingDir, config, image),
    ...(user !== undefined && { user }),
    stopSignal: effectiveStopSignal(service.stopSignalSet ? service.stopSignal : undefined, config, image),
    healthcheck: withTimings(effectiveHealthcheck(service.healthcheck, service.healthcheckDisabled, config, image), service.healthcheckTimings),
    volumes: [...service.volumes, ...anonymous],
    imageRoot,
  };
}

/**
 * The project with its image services resolved: every one whose image is in the store; one in
 * `required` (the services `up` starts) must be, the others stay as the spec has them (the
 * runtime refuses to launch an image service that is not resolved).
 */
export async function resolveProject(project: Project, required: readonly string[], store: ImageStore): Promise<Project> {
  const resolved = { ...project.services };
  const needed = new Set(required);
  for (const [name, service] of Object.entries(project.services)) {
    if (service.image === undefined) continue;
    try {
      resolved[name] = await resolveService(service, store);
    } catch (e) {
      if (needed.has(name) || !(e instanceof UserError) || e.code !== 'IMAGE_NOT_PRESENT') throw e;
    }
  }
  return { ...project, services: resolved };
}

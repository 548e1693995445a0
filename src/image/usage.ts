// Which stored images the projects use: every project's snapshot (`<run root>/<project>/project.json`,
// written by `up`, removed by `down`) names, for each image service, the image it runs
// (Service.imageRoot: the record's name, the image ID and the layers' ChainIDs). Missing,
// unreadable or foreign snapshots are skipped: they keep nothing.
import type { StateRoots } from '../state/paths.js';
import { listDir } from '../state/atomic.js';
import { readSnapshot } from '../state/snapshot.js';
import type { ImageRecord } from './store.js';

/** One service running an image. */
export interface ImageUser {
  readonly project: string;
  readonly service: string;
}

/** What the projects use, each with its users (for messages). */
export interface ImagesInUse {
  /** By record name (the canonical reference). */
  readonly references: ReadonlyMap<string, readonly ImageUser[]>;
  /** By image ID (config digest). */
  readonly ids: ReadonlyMap<string, readonly ImageUser[]>;
  /** By layer ChainID. */
  readonly layers: ReadonlyMap<string, readonly ImageUser[]>;
}

function add(map: Map<string, ImageUser[]>, key: unknown, user: ImageUser): void {
  if (typeof key !== 'string') return;
  const users = map.get(key);
  if (!users) map.set(key, [user]);
  else if (!users.some((u) => u.project === user.project && u.service === user.service)) users.push(user);
}

/** Reads every project's snapshot under roots.run. */
export async function imagesInUse(roots: StateRoots): Promise<ImagesInUse> {
  const references = new Map<string, ImageUser[]>();
  const ids = new Map<string, ImageUser[]>();
  const layers = new Map<string, ImageUser[]>();
  for (const name of (await listDir(roots.run)).sort()) {
    if (name.startsWith('.')) continue;
    let snapshot;
    try {
      snapshot = await readSnapshot(roots, name);
    } catch {
      continue; // a name that cannot be a project
    }
    const services = snapshot?.project?.services;
    if (!snapshot || !services || typeof services !== 'object') continue;
    const project = typeof snapshot.project.name === 'string' ? snapshot.project.name : name;
    for (const [service, spec] of Object.entries(services)) {
      const root = (spec as { imageRoot?: unknown } | undefined)?.imageRoot as
        | { id?: unknown; reference?: unknown; layers?: unknown }
        | undefined;
      if (!root || typeof root !== 'object') continue;
      const user = { project, service };
      add(references, root.reference, user);
      add(ids, root.id, user);
      if (Array.isArray(root.layers)) for (const layer of root.layers) add(layers, layer, user);
    }
  }
  return { references, ids, layers };
}

/** The services using the image of `record`: by its name, or by its image ID under another name. */
export function usersOf(usage: ImagesInUse, record: ImageRecord): ImageUser[] {
  const out: ImageUser[] = [];
  for (const u of [...(usage.references.get(record.name) ?? []), ...(usage.ids.get(record.configDigest) ?? [])]) {
    if (!out.some((o) => o.project === u.project && o.service === u.service)) out.push(u);
  }
  return out;
}

/** `project p service s, project q service t`: users for a message. */
export function describeUsers(users: readonly ImageUser[]): string {
  return users.map((u) => `project ${u.project} service ${u.service}`).join(', ');
}

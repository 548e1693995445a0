// State records: what stack made, written BEFORE it is made (so a crash never loses track of a
// kernel object), stamped with the config hash and the boot id. One JSON file per service,
// network (runtime) and volume (persistent). Objects are loose: later layers may add fields.
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { listDirNow, readJsonSync, removeFile, serialized, writeJsonAtomic } from './atomic.js';
import {
  networkRecordPath,
  projectLibDir,
  projectRunDir,
  serviceRecordPath,
  volumeRecordPath,
  type StateRoots,
} from './paths.js';
import { array, integer, literal, nullable, object, optional, record, string, type Check, type Shape } from './shape.js';

const stamp = object({ hash: string, fields: record(string) });

/** Record of one service: its netns, veths, cgroups and main process, as created. */
const serviceRecordShape = object(
  {
    version: literal(1),
    kind: literal('service'),
    project: string,
    service: string,
    /** /proc/sys/kernel/random/boot_id when written: a record from another boot is not believed. */
    bootId: string,
    /** Stamp of the spec the process was started with; null until started. */
    config: nullable(stamp),
    /** depends_on of that spec, so `down` without a spec still stops in reverse order. */
    dependsOn: array(string),
    netns: nullable(string),
    /** Keyed by network key. */
    veths: record(object({ host: string, peer: string, attachHash: string }, true)),
    /** Absolute cgroup directories. */
    cgroups: array(string),
    process: nullable(object({ pid: integer(1), startTime: integer(0) }, true)),
    /** A one-off of `stack run`: the service it copies (and its spec, for the snapshot). */
    oneOff: optional(object({ service: string }, true)),
  },
  true,
);
export type ServiceRecord = Shape<typeof serviceRecordShape>;

/** Record of one project network: its bridge and the stamp it was made with. */
const networkRecordShape = object(
  { version: literal(1), kind: literal('network'), project: string, key: string, bootId: string, config: stamp, bridge: string },
  true,
);
export type NetworkRecord = Shape<typeof networkRecordShape>;

/**
 * Record of one volume (named or, with `owner`, anonymous); no boot id: volumes persist. `mount`:
 * what its driver_opts mount on its folder (kind tmpfs or bind; runtime/volume-mount.ts), as `up`
 * last mounted it, and the mount's id (mountinfo) once made: only that mount is the project's
 * (another project's volume of the same name may mount there too). `down` takes it off, and `up`
 * mounts it again when it is not there.
 */
const volumeRecordShape = object(
  {
    version: literal(1),
    kind: literal('volume'),
    project: string,
    key: string,
    name: string,
    path: string,
    owner: optional(string),
    mount: optional(object({ kind: string, device: string, options: array(string), id: optional(integer(0)) })),
  },
  true,
);
export type VolumeRecord = Shape<typeof volumeRecordShape>;

/** A record file that exists but cannot be believed (not JSON, wrong shape). */
export class RecordError extends UserError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super('STATE_RECORD_INVALID', `state record ${path} is unreadable: ${reason}`, 'delete the file, or run `stack gc`');
  }
}

/** Read, write, update and list one kind of record. */
export interface RecordStore<T> {
  path(roots: StateRoots, project: string, name: string): string;
  /** The record, or undefined when there is none; RecordError when it is unreadable. */
  read(roots: StateRoots, project: string, name: string): Promise<T | undefined>;
  /** read(), synchronously: for a step that must not yield before it acts (a stop's signal). */
  readNow(roots: StateRoots, project: string, name: string): T | undefined;
  write(roots: StateRoots, record: T): Promise<void>;
  /** Read-modify-write, serialized per record; `null` deletes the record. */
  update(roots: StateRoots, project: string, name: string, change: (current: T | undefined) => T | null): Promise<T | null>;
  /** Deletes the record (absent is success) and the folders it leaves empty. */
  remove(roots: StateRoots, project: string, name: string): Promise<void>;
  /** Every readable record of the project, and a warning for each unreadable one. */
  list(roots: StateRoots, project: string): Promise<{ records: T[]; warnings: string[] }>;
}

/** `value` checked against `shape` before it is written; a wrong shape is a bug in stack. */
function valid<T>(shape: Check<T>, value: T): T {
  const issues: string[] = [];
  const checked = shape(value, '', issues);
  if (issues.length) throw new Error(`refusing to write a state record of the wrong shape: ${issues.join('; ')}`);
  return checked;
}

function store<T>(
  shape: Check<T>,
  path: (roots: StateRoots, project: string, name: string) => string,
  nameOf: (record: T) => [project: string, name: string],
  projectDir: (roots: StateRoots, project: string) => string,
  /** fsync on write: persistent records only (atomic.ts: runtime ones are gone with the boot). */
  durable: boolean,
): RecordStore<T> {
  // Synchronous: a record is a small file, and a round trip through libuv's threads per file
  // cost more than the read (observe and the supervisor list every record of a project).
  const read = (file: string): T | undefined => {
    let raw: unknown;
    try {
      raw = readJsonSync(file);
    } catch (e) {
      throw new RecordError(file, e instanceof Error ? e.message : String(e));
    }
    if (raw === undefined) return undefined;
    const issues: string[] = [];
    const value = shape(raw, '', issues);
    if (issues.length) throw new RecordError(file, issues.join('; '));
    return value;
  };
  const remove = (roots: StateRoots, project: string, name: string): Promise<void> => {
    const file = path(roots, project, name);
    return removeFile(file, [dirname(file), projectDir(roots, project)]);
  };
  return {
    path,
    readNow: (roots, project, name) => read(path(roots, project, name)),
    read: async (roots, project, name) => read(path(roots, project, name)),
    write: (roots, record) => {
      const [project, name] = nameOf(record);
      const file = path(roots, project, name);
      return serialized(file, () => writeJsonAtomic(file, valid(shape, record), { durable }));
    },
    update: (roots, project, name, change) => {
      const file = path(roots, project, name);
      return serialized(file, async () => {
        const next = change(read(file));
        if (next === null) await remove(roots, project, name);
        else await writeJsonAtomic(file, valid(shape, next), { durable });
        return next;
      });
    },
    remove: (roots, project, name) => serialized(path(roots, project, name), () => remove(roots, project, name)),
    list: async (roots, project) => {
      const dir = dirname(path(roots, project, 'x'));
      const records: T[] = [];
      const warnings: string[] = [];
      for (const entry of listDirNow(dir).sort()) {
        if (!entry.endsWith('.json')) continue;
        try {
          const record = read(`${dir}/${entry}`);
          if (record === undefined) continue;
          const [p, name] = nameOf(record);
          if (p !== project || `${name}.json` !== entry) warnings.push(`${dir}/${entry}: belongs to ${p}/${name}, ignored`);
          else records.push(record);
        } catch (e) {
          warnings.push(e instanceof Error ? e.message : String(e));
        }
      }
      return { records, warnings };
    },
  };
}

/** Service records (runtime, under the project's run folder). */
export const serviceRecords: RecordStore<ServiceRecord> = store(
  serviceRecordShape,
  serviceRecordPath,
  (r) => [r.project, r.service],
  projectRunDir,
  false,
);

/** Network records (runtime). */
export const networkRecords: RecordStore<NetworkRecord> = store(
  networkRecordShape,
  networkRecordPath,
  (r) => [r.project, r.key],
  projectRunDir,
  false,
);

/** Volume records (persistent, under the project's lib folder). */
export const volumeRecords: RecordStore<VolumeRecord> = store(
  volumeRecordShape,
  volumeRecordPath,
  (r) => [r.project, r.key],
  projectLibDir,
  true,
);

/** A service record that claims nothing yet, for this boot. */
export function freshServiceRecord(project: string, service: string, bootId: string): ServiceRecord {
  const claims = { config: null, dependsOn: [], netns: null, veths: {}, cgroups: [], process: null };
  return { version: 1, kind: 'service', project, service, bootId, ...claims };
}

/** Docker's stop defaults, for a record that predates its stop settings. */
const DEFAULT_STOP = { signal: 'SIGTERM', graceMs: 10_000 };

/**
 * The stop_signal and stop_grace_period its process was started with (the `stop` the start
 * handler writes beside the shape's fields), Docker's defaults where the record has none: a stop
 * uses them, not the spec's, which may have changed since or be gone. `preStop`: its spec had
 * pre_stop hooks (a stop that has no spec of it, `down`'s, then looks for them in the snapshot).
 */
export function recordedStop(record: ServiceRecord | undefined): { signal: string; graceMs: number; preStop: boolean } {
  const { signal, graceMs, preStop } = stopOf(record);
  return { signal: signal ?? DEFAULT_STOP.signal, graceMs: graceMs ?? DEFAULT_STOP.graceMs, preStop: preStop === true };
}

/** The `stop` the record holds, each part only when it is there (observe shows the signal as recorded). */
export function stopOf(record: ServiceRecord | undefined): { signal?: string; graceMs?: number; preStop?: true } {
  const stop = (record as { stop?: { signal?: unknown; graceMs?: unknown; preStop?: unknown } } | undefined)?.stop;
  return {
    ...(typeof stop?.signal === 'string' && { signal: stop.signal }),
    ...(typeof stop?.graceMs === 'number' && { graceMs: stop.graceMs }),
    ...(stop?.preStop === true && { preStop: true }),
  };
}

/** True when a service record claims no kernel object any more (it can go). */
export function claimsNothing(record: ServiceRecord): boolean {
  return record.netns === null && Object.keys(record.veths).length === 0 && record.cgroups.length === 0 && record.process === null;
}

/**
 * The executor's way to record a step before making it: starts from a fresh record when there is
 * none or it is from another boot, applies `change`, and deletes the file once it claims nothing.
 */
export function updateServiceRecord(
  roots: StateRoots,
  project: string,
  service: string,
  bootId: string,
  change: (record: ServiceRecord) => ServiceRecord | null,
): Promise<ServiceRecord | null> {
  return serviceRecords.update(roots, project, service, (current) => {
    const base = current && current.bootId === bootId ? current : freshServiceRecord(project, service, bootId);
    const next = change(base);
    return next === null || claimsNothing(next) ? null : next;
  });
}

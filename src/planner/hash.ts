// Config hashes: a service (or network) is unchanged when the hash of its normalized spec is.
// Per-field hashes are stamped too, so a recreate can say what changed ("environment changed")
// without the old spec. sha256 is sys/lazy-crypto.ts's (OpenSSL's through koffi where the
// process loaded koffi, else node:crypto's, required when the first hash is made: `down` plans
// without hashing and never loads it); it is deterministic and does no I/O, so the planner stays
// pure. The per-field hashes only name what changed, for humans (the whole hash decides): they
// are a cheap FNV-1a (fieldHash), not a sha256 each; a record of an older stack, whose field
// hashes are sha256s, is compared with the new stamp's fields hashed that way.
import { sha256Hex } from '../sys/lazy-crypto.js';
import type { Network, Service } from '../spec/project.js';
import type { ConfigStamp } from './plan.js';

/** Service fields that never require a recreate (compose leaves them out of its hash too). */
const SERVICE_FIELDS_NOT_HASHED = new Set(['name', 'build', 'dependsOn', 'develop', 'profiles', 'scale']);

/**
 * Service fields that only matter with an image (they change nothing for a host program): hashed
 * only for image services, so the hashes of existing host-program services stay what they were.
 */
const SERVICE_FIELDS_IMAGE_ONLY = new Set(['platform', 'stopSignalSet', 'healthcheckDisabled', 'healthcheckTimings']);

const SERVICE_FIELDS_NOT_HASHED_NO_IMAGE = new Set([...SERVICE_FIELDS_NOT_HASHED, ...SERVICE_FIELDS_IMAGE_ONLY]);

/** Compose keys of the service fields an image's config fills in (image/resolve.ts). */
const IMAGE_DERIVED = new Set(['entrypoint', 'command', 'environment', 'working_dir', 'user', 'stop_signal', 'healthcheck', 'volumes']);

/** Network fields that do not change the bridge (its key is its identity). */
const NETWORK_FIELDS_NOT_HASHED = new Set(['key', 'labels', 'driverOpts']);

/**
 * JSON with object keys sorted at every depth, undefined dropped: equal values, equal text.
 * Written as loops over Object.keys().sort() (the default order is the UTF-16 units' order, as
 * `<` compares strings): the form with Object.entries, a comparator and template strings took
 * 10.5 ms for the 20 services of a no-op `up` in a fresh Node, this one 1.5 ms.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ',';
      if (i in value) text += value[i] === undefined ? 'null' : canonicalJson(value[i]); // a hole stays empty, as join() left it
    }
    return text + ']';
  }
  const object = value as Record<string, unknown>;
  let text = '{';
  for (const key of Object.keys(object).sort()) {
    const field = object[key];
    if (field === undefined) continue;
    if (text.length > 1) text += ',';
    text += JSON.stringify(key) + ':' + canonicalJson(field);
  }
  return text + '}';
}

/** What a per-field hash starts with (a record of an older stack holds a sha256's 16 hex digits). */
const FIELD_HASH = 'f:';

/**
 * A field's hash in a stamp: FNV-1a (32 bits) over the text's UTF-16 units forwards and again
 * backwards, 16 hex digits. Only for naming what changed: a sha256 each (23 fields a service)
 * was 465 of the 579 sha256s of a fresh `up -d` of 20, ~4 ms of its profile.
 */
export function fieldHash(text: string): string {
  let forwards = 0x811c9dc5;
  let backwards = 0x811c9dc5;
  for (let i = 0, j = text.length - 1; i < text.length; i++, j--) {
    forwards = Math.imul(forwards ^ text.charCodeAt(i), 0x01000193);
    backwards = Math.imul(backwards ^ text.charCodeAt(j), 0x01000193);
  }
  return `${FIELD_HASH}${(forwards >>> 0).toString(16).padStart(8, '0')}${(backwards >>> 0).toString(16).padStart(8, '0')}`;
}

/** The compose key a model field came from: `stopGracePeriodMs` → `stop_grace_period`. */
export function composeKey(field: string): string {
  return field.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The stamp of `model` without the fields in `skip`. Its per-field hashes are made when first
 * read (a change to name, a record to write): a no-op `up` compares the whole hash only, and
 * one sha256 per field was ~0.4 ms a service (10 ms of a 20-service no-op, profiled).
 */
function stampOf(model: object, skip: ReadonlySet<string>): ConfigStamp {
  const hashed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(model)) {
    if (skip.has(field) || value === undefined) continue;
    hashed[field] = value;
  }
  let fields: Record<string, string> | undefined;
  const stamp = { hash: sha256Hex(canonicalJson(hashed)) } as { hash: string; fields: Record<string, string> };
  Object.defineProperty(stamp, 'fields', {
    enumerable: true,
    get: () => (fields ??= fieldsHashed(hashed, fieldHash)),
  });
  olderFields.set(stamp, () => fieldsHashed(hashed, (text) => sha256Hex(text).slice(0, 16)));
  return stamp;
}

/** Each field's compose key and the hash of its canonical JSON. */
function fieldsHashed(fields: Record<string, unknown>, hash: (text: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([field, value]) => [composeKey(field), hash(canonicalJson(value))]));
}

/** A stamp made here, its fields hashed as older stacks hashed them (changedFields, against their records). */
const olderFields = new WeakMap<ConfigStamp, () => Record<string, string>>();

/** Stamp of a service: what decides "unchanged, leave it running" vs "recreate". */
export function hashService(service: Service): ConfigStamp {
  return stampOf(service, service.image === undefined ? SERVICE_FIELDS_NOT_HASHED_NO_IMAGE : SERVICE_FIELDS_NOT_HASHED);
}

/** Stamp of a network: a change (subnet, internal) recreates the bridge and its veths. */
export function hashNetwork(network: Network): ConfigStamp {
  return stampOf(network, NETWORK_FIELDS_NOT_HASHED);
}

/** Stamp of one veth: its place inside the netns (`eth<index>`) and its fixed address. */
export function attachmentHash(index: number, ipv4Address: string | undefined): string {
  return sha256Hex(canonicalJson({ index, ipv4Address })).slice(0, 16);
}

/** Whether a stamp's per-field hashes are fieldHash's (undefined: it has none to tell by). */
function fieldHashes(stamp: ConfigStamp): boolean | undefined {
  const [first] = Object.values(stamp.fields);
  return first === undefined ? undefined : first.startsWith(FIELD_HASH);
}

/**
 * The fields whose hashes differ (present on one side only counts), sorted. A record of an older
 * stack (sha256 field hashes) is compared with the new stamp's fields hashed that way; none when
 * that cannot be done (two stamps of a record each).
 */
export function changedFields(before: ConfigStamp, after: ConfigStamp): string[] {
  const [was, is] = [fieldHashes(before), fieldHashes(after)];
  let now = after.fields;
  if (was !== undefined && is !== undefined && was !== is) {
    const older = was === false ? olderFields.get(after) : undefined;
    if (older === undefined) return [];
    now = older();
  }
  const keys = new Set([...Object.keys(before.fields), ...Object.keys(now)]);
  return [...keys].filter((k) => before.fields[k] !== now[k]).sort();
}

/**
 * The stamp create-network records until the firewall rewrite it starts has been written
 * (executor/handlers/network.ts): it matches no spec, so when that rewrite failed, or the run
 * was cut off before it, the next `up` recreates the network, which writes the firewall.
 */
export const FIREWALL_PENDING: ConfigStamp = { hash: 'firewall-pending', fields: {} };

/** The cause of a recreate, for humans: `environment changed`, `command and ports changed`. */
export function describeChange(before: ConfigStamp, after: ConfigStamp): string {
  let fields = changedFields(before, after);
  // A new image (a tag that moved, another image): named once as `image`; the fields the image
  // config fills in (command, environment, ...) change with it and are not named beside it.
  if (fields.includes('image_root')) fields = ['image', ...fields.filter((f) => f !== 'image' && f !== 'image_root' && !IMAGE_DERIVED.has(f))];
  if (fields.length === 0) return 'config changed';
  const shown = fields.length > 4 ? [...fields.slice(0, 3), `${fields.length - 3} more`] : fields;
  const last = shown.pop() as string;
  return `${shown.length ? `${shown.join(', ')} and ${last}` : last} changed`;
}

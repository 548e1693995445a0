// `stack images`: the images in the store, as `docker compose images` shows them: those of the
// project's services when a spec file is found, every stored image otherwise. SIZE is the bytes
// of the unpacked layers' regular files (a layer shared by images counted in each).
import { lstat, readdir } from '../../sys/fs-async.js';
import { join } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions, tableOrJson } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { parseImageReference } from '../../image/reference.js';
import { ImageStore, type ImageRecord } from '../../image/store.js';
import { humanSize } from '../../image/disk-usage.js';

const HELP = `Usage: stack images [OPTIONS] [SERVICE...]

List the images of the project's services (or of the named ones) that are in the image store
(every stored image when no spec file is found and no service is named).

Options:
      --format FORMAT   table (default) or json
  -q, --quiet           Print the image IDs only
  -h, --help            Print this help
`;

/** One row of `stack images`. */
export interface ImagesRow {
  readonly services: readonly string[];
  readonly repository: string;
  readonly tag: string;
  /** The config digest (the image ID). */
  readonly id: string;
  readonly digest: string;
  readonly platform: string;
  readonly size: number;
}

/** Runs `stack images`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('images', ctx.args, {
    format: { type: 'string', default: 'table' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  tableOrJson(values.format);
  const store = ImageStore.forRoots(stateRoots(ctx.env as NodeJS.ProcessEnv));
  const wanted = await projectImages(ctx, positionals);
  const records: { record: ImageRecord; services: string[] }[] = [];
  if (wanted) {
    for (const [canonical, services] of wanted) {
      const record = await store.getRecord(canonical);
      if (record) records.push({ record, services });
    }
  } else {
    for (const record of await store.listRecords()) records.push({ record, services: [] });
  }
  const sizes = new Map<string, Promise<number>>();
  const layerSize = (chainId: string): Promise<number> => {
    if (!sizes.has(chainId)) sizes.set(chainId, treeSize(store.layerDir(chainId)));
    return sizes.get(chainId)!;
  };
  const rows: ImagesRow[] = [];
  for (const { record, services } of records) {
    const ref = safeParse(record.name);
    let size = 0;
    for (const l of record.layers) size += await layerSize(l);
    rows.push({
      services,
      repository: ref?.familiarName ?? record.name,
      tag: ref?.tag ?? '<none>',
      id: record.configDigest,
      digest: record.digest,
      platform: record.platform,
      size,
    });
  }
  rows.sort((a, b) => (a.repository === b.repository ? (a.tag < b.tag ? -1 : 1) : a.repository < b.repository ? -1 : 1));
  const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
  if (values.quiet) {
    ctx.stdout.write([...new Set(rows.map((r) => shortId(r.id)))].map((id) => id + '\n').join(''));
    return 0;
  }
  if (values.format === 'json') {
    ctx.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const table = [
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'],
    ...rows.map((r) => [r.repository, r.tag, shortId(r.id), humanSize(r.size)]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  ctx.stdout.write(table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
  return 0;
}

/**
 * Canonical image name → the services naming it (of `names` only, when given: compose's `images
 * SERVICE...`, a service behind a profile enabled by naming it); undefined when no spec file is
 * found and no service is named.
 */
async function projectImages(ctx: CommandContext, names: readonly string[]): Promise<Map<string, string[]> | undefined> {
  let project;
  try {
    project = await loadFromContext(ctx, false, names);
  } catch (e) {
    if (e instanceof UserError && e.code === 'SPEC_NOT_FOUND' && ctx.global.files.length === 0 && names.length === 0) return undefined;
    throw e;
  }
  assertServices(project, names, 'images');
  const out = new Map<string, string[]>();
  const { withBuiltImageNames } = await import('./build.js');
  for (const [name, service] of Object.entries(withBuiltImageNames(project).services)) {
    if (service.image === undefined || (names.length > 0 && !names.includes(name))) continue;
    const ref = safeParse(service.image);
    if (!ref) continue;
    out.set(ref.canonical, [...(out.get(ref.canonical) ?? []), name]);
  }
  return out;
}

function safeParse(name: string) {
  try {
    return parseImageReference(name);
  } catch {
    return undefined;
  }
}

/** Bytes of the regular files under `dir` (symlinks not followed); 0 when it is missing. */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeSize(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}


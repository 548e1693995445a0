// Builds an image from a Dockerfile into the image store, as `docker build` does with BuildKit:
// the stages the target needs (FROM another stage, COPY --from), each instruction in order, a
// layer for each RUN, COPY, ADD and for a WORKDIR that had to be made, the rest changing the
// image config only. Layers are kept unpacked in the store like pulled ones (overlayfs format):
// a RUN's layer is the overlay upper it wrote into, a COPY's the folder the copy wrote. Each
// layer's DiffID is the sha256 of the tar an OCI layer of it is (layer-digest.ts), so ChainIDs
// and the config are what a registry would hold. A step whose key (the state before it and what
// it does: its words after expansion, a COPY's source content, a RUN's build arguments) was
// built before is taken from the build cache instead, while its layer is still in the store.
import { trustDeferredCertificates } from '../sys/tls-ca.js';
import { createHash, randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { chmod, copyFile, lchown, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { UserError } from '../errors.js';
import { copyImageContent } from '../image/copy-up.js';
import { lookupMerged, loadLayeredUserDb, resolveLayeredUser } from '../image/layered.js';
import { digestOf, MediaType, parseImageConfig, type ImageConfig } from '../image/manifest.js';
import { formatPlatform, hostPlatform } from '../image/platform.js';
import { chainIds, type ImageRecord, type ImageStore } from '../image/store.js';
import { DEFAULT_SEARCH_PATH, openCgroups, resolveUser, type Identity, type ViewMount } from '../runtime/index.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { acquireFileLock } from '../state/lock.js';
import { copyInto, copySourceDigest, globMatches, openContext, type BuildContext, type CopyRequest, type CopyRoot } from './context.js';
import { expandHeredoc, expandWord, goDuration, parseDockerfile, type CommandForm, type Dockerfile, type Instruction } from './dockerfile.js';
import { layerDiffId } from '../image/layer-digest.js';
import { buildOfGroup, runStep } from './run-step.js';
import { isTarArchive, makeFolder, sniffArchive, unpackArchive, type ArchiveKind } from './archive.js';
import { parseRunMount, RunMountError, type RunMount } from './run-mounts.js';

/** What to build and how. */
export interface BuildOptions {
  readonly store: ImageStore;
  /** The project and service the image is for (messages, the steps' cgroups). */
  readonly project: string;
  readonly service: string;
  /** The context folder, absolute. */
  readonly context: string;
  /** The Dockerfile: its path (for messages and its .dockerignore) and its text. */
  readonly dockerfile: { readonly path: string; readonly text: string };
  readonly target?: string;
  /** `build.args` / `--build-arg`: values for the ARGs the Dockerfile declares. */
  readonly args: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** The canonical names the image is recorded under (the service's image first). */
  readonly names: readonly string[];
  readonly noCache: boolean;
  /** Pull every base image again (`--pull`), rather than use the stored one. */
  readonly pull: boolean;
  /** RUN steps' network: the host's (the default) or none. */
  readonly network: 'host' | 'none';
  /** The secrets a RUN may mount (`--mount=type=secret,id=ID`): the service's `build.secrets`, by id, each its value's reader. */
  readonly secrets?: Readonly<Record<string, () => Promise<Buffer>>>;
  /** A base image's record in the store, pulled first when missing (or always, with `pull`). */
  readonly baseImage: (image: string, pull: boolean) => Promise<ImageRecord>;
  /** Each step as it begins (`cached`: taken from the build cache). */
  readonly onStep: (step: { readonly stage?: string; readonly index: number; readonly total: number; readonly text: string; readonly cached: boolean }) => void;
  /** Each line a RUN step writes. */
  readonly onLine: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** The image built. */
export interface BuiltImage {
  readonly configDigest: string;
  readonly manifestDigest: string;
  readonly layers: readonly string[];
  /** Steps run and steps taken from the cache. */
  readonly ran: number;
  readonly cached: number;
}

/** The image config's `config` object as a build changes it. */
interface RunConfig {
  User?: string;
  Env: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  Shell?: string[];
  OnBuild?: string[];
}

/** One stage's state as its instructions go. */
interface StageState {
  layers: string[];
  diffIds: string[];
  /** The layers' tar sizes (0 for a base image's: its manifest has the compressed ones). */
  sizes: number[];
  config: RunConfig;
  history: { created: string; created_by: string; empty_layer?: boolean; comment?: string }[];
  platform: { os: string; architecture: string; variant: string };
  /** The build cache's key of the state so far. */
  key: string;
  /** The ARGs declared in the stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  /** The base image's name, for messages. */
  base: string;
  /** When the last step that made a layer made it (a cached one: when it was first made): what the history and the config's `created` say, so a rebuild that changes nothing keeps the image ID. */
  created: string;
  /** Whether this stage set CMD (an ENTRYPOINT after it keeps it, as BuildKit does). */
  cmdSet: boolean;
}

/** BuildKit's automatic platform ARGs for this host (the build's platform is the target's: stack builds for the host). */
function platformArgs(): Record<string, string> {
  const host = hostPlatform();
  // containerd's normalization, which BuildKit's values follow: arm64 has no variant (v8 is implied).
  const p = host.architecture === 'arm64' ? { ...host, variant: '' } : host;
  const platform = formatPlatform(p);
  return {
    TARGETPLATFORM: platform, TARGETOS: p.os, TARGETARCH: p.architecture, TARGETVARIANT: p.variant,
    BUILDPLATFORM: platform, BUILDOS: p.os, BUILDARCH: p.architecture, BUILDVARIANT: p.variant,
  };
}

/** ARGs that need no declaration (BuildKit's predefined proxy arguments). */
const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The time of an image nothing dates (FROM scratch with no layer made). */
const EPOCH = '1970-01-01T00:00:00Z';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function envGet(env: readonly string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    const eq = e.indexOf('=');
    if ((eq < 0 ? e : e.slice(0, eq)) === name) return eq < 0 ? '' : e.slice(eq + 1);
  }
  return undefined;
}

/** `env` with `name` set: replaced where it is (as BuildKit replaces it), else added at the end. */
function envSet(env: readonly string[], name: string, value: string): string[] {
  const at = env.findIndex((e) => (e.indexOf('=') < 0 ? e : e.slice(0, e.indexOf('='))) === name);
  return at < 0 ? [...env, `${name}=${value}`] : env.map((e, i) => (i === at ? `${name}=${value}` : e));
}

/** The error of an instruction: `<Dockerfile>:<line>: <what>`. */
function stepError(file: string, ins: Instruction, code: string, what: string, hint?: string): UserError {
  return new UserError(code, `${file}:${ins.line}: ${ins.original.split('\n')[0]}: ${what}`, hint);
}

/** An error of an instruction's, with the Dockerfile's line and the instruction in front (unless it has them). */
function located(file: string, ins: Instruction, e: unknown): unknown {
  if (!(e instanceof UserError) || e.message.startsWith(`${file}:`) || e.code === 'BUILD_CANCELLED') return e;
  return new UserError(e.code, `${file}:${ins.line}: ${ins.original.split('\n')[0]}: ${e.message.replace(/^service "[^"]*": /, '')}`, e.hint, { cause: e });
}

/**
 * What builds of `project` that are gone left: a build killed during a RUN (SIGKILL, a closed
 * terminal) leaves its step running in `stack/<project>/build-<id>` and its scratch folder. One
 * whose lock is free is gone: its step's processes are killed with their cgroup, its folder removed.
 */
async function sweepGoneBuilds(store: ImageStore, project: string): Promise<void> {
  const cgroups = await openCgroups();
  for (const name of await cgroups.services(project)) {
    const id = buildOfGroup(name);
    if (id === undefined) continue;
    const lock = await store.tryBuildLock(id);
    if (lock === undefined) continue; // a build that runs
    try {
      await cgroups.open(project, name).destroy({ keepProject: true });
      await rm(join(store.root, 'layers', `${id}.partial-build`), { recursive: true, force: true });
    } catch {
      // left for the next build (or `stack gc`): it is not this build's to fail on
    } finally {
      await lock.release();
    }
  }
}

/** The stages the target needs, in Dockerfile order. */
function neededStages(df: Dockerfile, target: string | undefined, file: string, expand: (word: string) => string): number[] {
  const byName = new Map<string, number>();
  df.stages.forEach((s, i) => {
    if (s.name !== undefined) byName.set(s.name.toLowerCase(), i);
  });
  let last = df.stages.length - 1;
  if (target !== undefined) {
    const t = byName.get(target.toLowerCase());
    if (t === undefined) {
      const names = [...byName.keys()];
      throw new UserError('BUILD_TARGET_UNKNOWN', `${file}: no stage named "${target}" (build.target)`, names.length > 0 ? `the stages are: ${names.join(', ')}` : 'the Dockerfile names no stage (`FROM image AS name`)');
    }
    last = t;
  }
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const stage = df.stages[i]!;
    const refer = (raw: string): void => {
      let word = raw;
      try {
        word = expand(raw); // `FROM base-${V}`, `COPY --from=${STAGE}` (with the global ARGs)
      } catch {
        // an expansion error is the instruction's own, said where it is built
      }
      const named = stageNamed(df, word);
      if (named !== undefined && named < i) visit(named);
    };
    refer(stage.from.image);
    for (const ins of stage.instructions) {
      if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && ins.from !== undefined) refer(ins.from);
      // RUN --mount=...,from=<stage> (one that does not parse is said where it is built)
      if (ins.keyword === 'RUN') {
        for (const m of ins.mounts) {
          const from = (() => {
            try {
              const mount = parseRunMount(m, '/');
              return mount.type === 'bind' ? mount.from : undefined;
            } catch {
              return undefined;
            }
          })();
          if (from !== undefined) refer(from);
        }
      }
    }
  };
  visit(last);
  return [...needed].sort((a, b) => a - b);
}

/**
 * A `--chown` value resolved in the stage's own /etc/passwd and /etc/group, as BuildKit does: a
 * user name alone gives its primary group, a uid alone the same number as the gid.
 */
function chownOf(value: string, layers: readonly string[], image: string, service: string): { uid: number; gid: number } {
  const [user = '', group] = value.split(':');
  const db = layers.length > 0 ? loadLayeredUserDb(layers, image) : { passwd: [], group: [] };
  try {
    const named = /^\d+$/.test(user) ? undefined : resolveUser(service, user, db);
    const uid = named?.uid ?? Number(user);
    if (group === undefined || group === '') return { uid, gid: named?.gid ?? uid };
    const gid = /^\d+$/.test(group) ? Number(group) : resolveUser(service, `0:${group}`, db).gid;
    return { uid, gid };
  } catch (e) {
    if (!(e instanceof UserError) || (e.code !== 'USER_UNKNOWN' && e.code !== 'GROUP_UNKNOWN')) throw e;
    const what = e.code === 'USER_UNKNOWN' ? `user "${user}" is not in the /etc/passwd` : `group "${group}" is not in the /etc/group`;
    throw new UserError(e.code, `--chown=${value}: ${what} of ${image}`, 'name a user and group the image defines (add them in a RUN before), or give numbers: --chown=1000:1000');
  }
}

/** The argv of a RUN, CMD or ENTRYPOINT: the exec form as written, the shell form in the stage's SHELL. */
function argvOf(command: CommandForm, shell: readonly string[]): string[] {
  return command.kind === 'exec' ? [...command.argv] : [...shell, command.command];
}

/** The archive kind of the context's file `rel` (ADD unpacks tar, gzip, bzip2, xz), and its path; nothing outside the context is read. */
async function archiveIn(context: BuildContext, rel: string): Promise<{ kind: NonNullable<ArchiveKind>; path: string } | undefined> {
  const head = Buffer.alloc(512);
  let length = 0;
  let path: string | undefined;
  try {
    if (context.excluded(posix.normalize(`/${rel}`).slice(1))) return undefined; // the copy says it is missing
    path = await inContext(context.dir, rel);
    if (path === undefined || !(await lstat(path)).isFile()) return undefined; // the copy says what is wrong
    const handle = await open(path, 'r');
    try {
      length = (await handle.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  const kind = sniffArchive(head.subarray(0, length));
  return kind === undefined ? undefined : { kind, path };
}

/** Builds the image; see the file comment. */
export async function buildImage(options: BuildOptions): Promise<BuiltImage> {
  const { store } = options;
  const file = options.dockerfile.path;
  const df = parseDockerfile(options.dockerfile.text, file);
  // The values of the ARGs before the first FROM: their defaults, or the build's arguments; the
  // platform's (TARGETARCH, ...) besides, as BuildKit defines them in the global scope.
  const automatic = platformArgs();
  const global = new Map<string, string | undefined>(Object.entries(automatic));
  for (const ins of df.globalArgs) {
    for (const a of ins.args) {
      const given = options.args[a.name];
      global.set(a.name, given ?? (a.default !== undefined ? expandWord(a.default, (n) => global.get(n), df.escape) : automatic[a.name]));
    }
  }
  const stageIndexes = neededStages(df, options.target, file, (word) => expandWord(word, (n) => global.get(n), df.escape));
  await store.init();
  const context = await openContext(options.context, file);
  // The build's own folder in the store's layers/ (same file system as the layers, so a step's
  // folder becomes a layer by a rename), held under a lock: what a killed build leaves is a
  // `.partial-` folder whose lock is free, which the store's cleanPartials() removes.
  const hex = randomBytes(32).toString('hex');
  const scratch = join(store.root, 'layers', `${hex}.partial-build`);
  await sweepGoneBuilds(store, options.project);
  const lock = await acquireFileLock(store.layerLockPath(`sha256:${hex}`), join(store.root, 'locks'), `build ${hex}`, { command: 'stack build' });
  let ran = 0;
  let cached = 0;
  try {
    await mkdir(scratch, { mode: 0o700 });
    const done = new Map<number, StageState>();
    const total = stageIndexes.reduce((n, i) => n + 1 + df.stages[i]!.instructions.length, 0);
    let index = 0;
    let final: StageState | undefined;
    for (const si of stageIndexes) {
      const stage = df.stages[si]!;
      const stageName = stage.name;
      const step = (text: string, fromCache: boolean): void => {
        index++;
        options.onStep({ ...(stageName !== undefined && { stage: stageName }), index, total, text, cached: fromCache });
      };
      const state = await fromInstruction(stage.from, global, done, df, options, file).catch((e: unknown) => {
        throw located(file, stage.from, e);
      });
      step(stage.from.original, false);
      for (const ins of stage.instructions) {
        if (options.signal?.aborted) throw new UserError('BUILD_CANCELLED', `build of service "${options.service}" cancelled`);
        const hit = await instruction(ins, state, { df, options, file, context, global, done, scratch, buildId: hex }, (fromCache) => step(ins.original.split('\n')[0]!, fromCache)).catch((e: unknown) => {
          throw located(file, ins, e);
        });
        if (hit === 'cached') cached++;
        else if (hit === 'ran') ran++;
      }
      done.set(si, state);
      final = state;
    }
    const image = final!;
    for (const [k, v] of Object.entries(options.labels)) image.config.Labels = { ...image.config.Labels, [k]: v };
    return { ...(await writeImage(store, image, options.names)), ran, cached };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await lock.release();
  }
}

/** The state a FROM starts from: another stage's, nothing (`scratch`), or a base image's. */
async function fromInstruction(
  from: Extract<Instruction, { keyword: 'FROM' }>,
  global: ReadonlyMap<string, string | undefined>,
  done: ReadonlyMap<number, StageState>,
  df: Dockerfile,
  options: BuildOptions,
  file: string,
): Promise<StageState> {
  const image = expandWord(from.image, (n) => global.get(n), df.escape);
  if (image === '') throw stepError(file, from, 'BUILD_FROM_EMPTY', 'the image name is empty after its variables were expanded', 'give the ARG a default, or pass it in build.args');
  const earlier = df.stages.findIndex((s) => s.name !== undefined && s.name.toLowerCase() === image.toLowerCase());
  if (earlier >= 0 && done.has(earlier)) {
    const s = done.get(earlier)!;
    const config = structuredClone(s.config);
    delete config.OnBuild; // a stage's triggers are its own image's, not run for the stages built from it
    return { ...s, layers: [...s.layers], diffIds: [...s.diffIds], sizes: [...s.sizes], config, history: [...s.history], args: new Map(), key: sha256(`${s.key}\nFROM stage`), cmdSet: false };
  }
  if (image.toLowerCase() === 'scratch') {
    const p = hostPlatform();
    return { layers: [], diffIds: [], sizes: [], config: { Env: [] }, history: [], platform: { os: p.os, architecture: p.architecture, variant: p.variant }, key: sha256('scratch'), args: new Map(), base: 'scratch', created: EPOCH, cmdSet: false };
  }
  const record = await options.baseImage(image, options.pull);
  const bytes = await options.store.readBlob(record.configDigest);
  if (bytes === undefined) throw new UserError('IMAGE_NOT_PRESENT', `base image ${image}: its config is not in the image store`, 'pull it again: `stack pull`');
  const config: ImageConfig = parseImageConfig(bytes, { image, digest: record.configDigest });
  const c = config.config ?? {};
  if (Array.isArray((c as { OnBuild?: unknown }).OnBuild) && ((c as { OnBuild: unknown[] }).OnBuild.length > 0)) {
    throw stepError(file, from, 'BUILD_UNSUPPORTED', `the base image ${image} has ONBUILD triggers, which stack does not run`, 'write the triggers\' instructions into this Dockerfile, after the FROM');
  }
  return {
    layers: [...record.layers],
    diffIds: [...config.rootfs.diff_ids],
    sizes: config.rootfs.diff_ids.map(() => 0),
    config: {
      ...(c.User ? { User: c.User } : {}),
      Env: [...(c.Env ?? [])],
      ...(c.Entrypoint !== undefined ? { Entrypoint: c.Entrypoint } : {}),
      ...(c.Cmd !== undefined ? { Cmd: c.Cmd } : {}),
      ...(c.WorkingDir ? { WorkingDir: c.WorkingDir } : {}),
      ...(c.ExposedPorts ? { ExposedPorts: Object.fromEntries(Object.keys(c.ExposedPorts).map((k) => [k, {}])) } : {}),
      ...(c.Volumes ? { Volumes: Object.fromEntries(Object.keys(c.Volumes).map((k) => [k, {}])) } : {}),
      ...(c.Labels ? { Labels: { ...c.Labels } } : {}),
      ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
      ...(c.Healthcheck ? { Healthcheck: { ...c.Healthcheck } } : {}),
      ...(Array.isArray((c as { Shell?: unknown }).Shell) ? { Shell: [...(c as { Shell: string[] }).Shell] } : {}),
    },
    history: [...((config.history ?? []) as StageState['history'])],
    platform: { os: config.os, architecture: config.architecture, variant: config.variant ?? '' },
    key: sha256(`image ${record.configDigest}`),
    args: new Map(),
    base: image,
    created: config.created ?? EPOCH,
    cmdSet: false,
  };
}

interface StepContext {
  readonly df: Dockerfile;
  readonly options: BuildOptions;
  readonly file: string;
  readonly context: BuildContext;
  readonly global: ReadonlyMap<string, string | undefined>;
  readonly done: ReadonlyMap<number, StageState>;
  readonly scratch: string;
  /** The build's id (its scratch folder's and its steps' cgroup's name). */
  readonly buildId: string;
}

/** The layer folders of a state, lowest first. */
const layerDirs = (store: ImageStore, state: StageState): string[] => state.layers.map((l) => store.layerDir(l));

/** What the image (`layers`, merged) has at `path`, its last component not followed: a folder's mode and owner (what a layer writing into it keeps), 'other' (a file, a symlink), or nothing. */
function imageEntryAt(layers: readonly string[], path: string, image: string): { mode: number; uid: number; gid: number } | 'other' | undefined {
  if (layers.length === 0) return undefined;
  const e = lookupMerged(layers, path, image, false);
  if (e === undefined) return undefined;
  return e.kind === 'dir' ? { mode: e.stat.mode & 0o7777, uid: e.stat.uid, gid: e.stat.gid } : 'other';
}

/** The root a COPY --from or a RUN --mount from= takes files from: an earlier stage's layers, or an image's (pulled when missing); `key` stands for its content in the cache key. */
async function fromRoot(ctx: StepContext, from: string, what: string): Promise<{ layers: string[]; key: string; name: string }> {
  const store = ctx.options.store;
  const stageIndex = stageNamed(ctx.df, from);
  if (stageIndex === undefined) {
    const record = await ctx.options.baseImage(from, false);
    return { layers: record.layers.map((l) => store.layerDir(l)), key: `image ${record.configDigest}`, name: from };
  }
  const s = ctx.done.get(stageIndex);
  if (s === undefined) throw new UserError('BUILD_BAD_INSTRUCTION', `${what}=${from} names a stage that does not come before this one`, 'a step takes files only from stages above it');
  return { layers: layerDirs(store, s), key: `stage ${s.key}`, name: `stage ${from}` };
}

/** Records an instruction that only changes the config. */
function configStep(state: StageState, ins: Instruction, change: () => void): void {
  const before = stepInputs(state.config);
  change();
  // Only what a later RUN or COPY sees moves the cache key: a LABEL or CMD changed near the top
  // leaves the steps below it cached, as BuildKit's graph has no node for them.
  const after = stepInputs(state.config);
  if (after !== before) state.key = sha256(`${state.key}\n${after}`);
  state.history.push({ created: state.created, created_by: `${ins.keyword} ${ins.original.slice(ins.keyword.length).trim()}`, empty_layer: true, comment: 'stack build' });
}

/** The part of the config a RUN or COPY depends on. */
function stepInputs(c: RunConfig): string {
  return JSON.stringify([c.Env, c.User ?? '', c.WorkingDir ?? '', c.Shell ?? null]);
}

/** A cache entry: the layer a step made (none when it changed nothing). */
interface CacheEntry {
  readonly diffId?: string;
  /** The ChainID of the layer (`stack image prune` drops an entry whose layer is gone). */
  readonly chain?: string;
  readonly size?: number;
  /** When the step was made (the history's time of it on every later build). */
  readonly created?: string;
}

function cachePath(store: ImageStore, key: string): string {
  return join(store.root, 'build-cache', `${key}.json`);
}

/** Adds a layer to the state: `dir` (a folder in the build's scratch) becomes the store's layer of its ChainID. No layer when `dir` is empty. */
async function commitLayer(store: ImageStore, state: StageState, dir: string, key: string, createdBy: string): Promise<void> {
  const entries = await readdir(dir);
  const created = new Date().toISOString();
  if (entries.length === 0) {
    await writeJsonAtomic(cachePath(store, key), { created } satisfies CacheEntry);
    state.created = created;
    state.history.push({ created, created_by: createdBy, empty_layer: true, comment: 'stack build' });
    return;
  }
  const { diffId, size } = await layerDiffId(dir);
  const chain = chainIds([...state.diffIds, diffId]).at(-1)!;
  await store.withLayerLock(chain, async () => {
    if (await store.hasLayer(chain)) await rm(dir, { recursive: true, force: true });
    else await rename(dir, store.layerDir(chain));
  });
  state.layers.push(chain);
  state.diffIds.push(diffId);
  state.sizes.push(size);
  state.created = created;
  state.history.push({ created, created_by: createdBy, comment: 'stack build' });
  await writeJsonAtomic(cachePath(store, key), { diffId, chain, size, created } satisfies CacheEntry);
}

/** The cached result of `key` when its layer is still in the store: applied to `state`, true. */
async function fromCache(store: ImageStore, state: StageState, key: string, createdBy: string): Promise<boolean> {
  const entry = (await readJson(cachePath(store, key)).catch(() => undefined)) as CacheEntry | undefined;
  if (entry === undefined) return false;
  if (entry.created !== undefined) state.created = entry.created;
  if (entry.diffId === undefined) {
    state.history.push({ created: state.created, created_by: createdBy, empty_layer: true, comment: 'stack build' });
    return true;
  }
  const chain = chainIds([...state.diffIds, entry.diffId]).at(-1)!;
  if (!(await store.hasLayer(chain))) return false;
  state.layers.push(chain);
  state.diffIds.push(entry.diffId);
  state.sizes.push(entry.size ?? 0);
  state.history.push({ created: state.created, created_by: createdBy, comment: 'stack build' });
  return true;
}

/** Runs one instruction on `state`: 'ran' or 'cached' for a step that may make a layer, 'config' for the others. */
async function instruction(ins: Instruction, state: StageState, ctx: StepContext, announce: (cached: boolean) => void): Promise<'ran' | 'cached' | 'config'> {
  const { df, options, file } = ctx;
  const store = options.store;
  const env = state.config.Env;
  // ENV wins over an ARG of the same name, as in Docker.
  const lookup = (name: string): string | undefined => envGet(env, name) ?? state.args.get(name);
  const expand = (word: string): string => expandWord(word, lookup, df.escape);
  const workdir = state.config.WorkingDir || '/';
  const inImage = (p: string): string => posix.resolve(workdir, p);
  const imageName = `${options.service} (${state.base})`;
  const configured = (): 'config' => {
    announce(false);
    return 'config';
  };
  switch (ins.keyword) {
    case 'ARG':
      // An ARG changes what RUN sees (the key of a RUN has the values it gets), not the image.
      for (const a of ins.args) {
        const given = options.args[a.name];
        // Declared without a value: the global one (an ARG before FROM, or the platform's: TARGETARCH ...).
        state.args.set(a.name, given ?? (a.default !== undefined ? expand(a.default) : ctx.global.get(a.name)));
      }
      return configured();
    case 'ENV':
      configStep(state, ins, () => {
        // Every word is expanded against the environment from before the instruction (BuildKit).
        let next = [...env];
        for (const [k, v] of ins.pairs) next = envSet(next, expand(k), expand(v));
        state.config.Env = next;
      });
      return configured();
    case 'LABEL':
      configStep(state, ins, () => {
        const labels = { ...state.config.Labels };
        for (const [k, v] of ins.pairs) labels[expand(k)] = expand(v);
        state.config.Labels = labels;
      });
      return configured();
    case 'MAINTAINER':
      configStep(state, ins, () => undefined);
      return configured();
    case 'USER':
      configStep(state, ins, () => {
        state.config.User = expand(ins.value);
      });
      return configured();
    case 'STOPSIGNAL':
      configStep(state, ins, () => {
        state.config.StopSignal = expand(ins.value);
      });
      return configured();
    case 'EXPOSE':
      configStep(state, ins, () => {
        const ports = { ...state.config.ExposedPorts };
        for (const word of ins.values.flatMap((v) => expand(v).split(/\s+/).filter((w) => w !== ''))) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
          if (!m) throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `${JSON.stringify(word)} is not a port`, 'write a port, a range or port/protocol: EXPOSE 8080 or EXPOSE 53/udp');
          const last = m[2] !== undefined ? Number(m[2]) : Number(m[1]);
          for (let p = Number(m[1]); p <= last; p++) ports[`${p}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        state.config.ExposedPorts = ports;
      });
      return configured();
    case 'VOLUME':
      configStep(state, ins, () => {
        const volumes = { ...state.config.Volumes };
        for (const v of ins.values.map(expand)) {
          if (v === '') throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', 'a volume path is empty', 'name a folder: VOLUME /data');
          volumes[inImage(v)] = {};
        }
        state.config.Volumes = volumes;
      });
      return configured();
    case 'CMD':
    case 'ENTRYPOINT':
      configStep(state, ins, () => {
        const argv = argvOf(ins.command, state.config.Shell ?? DEFAULT_SHELL);
        if (ins.keyword === 'CMD') {
          state.config.Cmd = argv;
          state.cmdSet = true;
        } else {
          state.config.Entrypoint = argv;
          if (!state.cmdSet) state.config.Cmd = null; // an ENTRYPOINT resets the base's CMD, not one this stage set (BuildKit)
        }
      });
      return configured();
    case 'SHELL':
      configStep(state, ins, () => {
        state.config.Shell = [...ins.argv];
      });
      return configured();
    case 'HEALTHCHECK':
      configStep(state, ins, () => {
        if (ins.none) {
          state.config.Healthcheck = { Test: ['NONE'] };
          return;
        }
        // Go durations the parser checked already (it refused any other: a variable too).
        const ns = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : goDuration(v));
        const test = ins.command.kind === 'exec' ? ['CMD', ...ins.command.argv] : ['CMD-SHELL', ins.command.command];
        const hc: Record<string, unknown> = { Test: test };
        const interval = ns(ins.interval);
        const timeout = ns(ins.timeout);
        const startPeriod = ns(ins.startPeriod);
        const startInterval = ns(ins.startInterval);
        if (interval !== undefined) hc.Interval = interval;
        if (timeout !== undefined) hc.Timeout = timeout;
        if (startPeriod !== undefined) hc.StartPeriod = startPeriod;
        if (startInterval !== undefined) hc.StartInterval = startInterval;
        if (ins.retries !== undefined) {
          const r = Number(expand(ins.retries));
          if (!Number.isInteger(r) || r < 0) throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `--retries=${ins.retries} is not a count`, 'e.g. --retries=3');
          hc.Retries = r;
        }
        state.config.Healthcheck = hc;
      });
      return configured();
    case 'ONBUILD':
      configStep(state, ins, () => {
        state.config.OnBuild = [...(state.config.OnBuild ?? []), ins.trigger];
      });
      return configured();
    case 'WORKDIR': {
      const dir = inImage(expand(ins.value));
      state.config.WorkingDir = dir;
      const key = sha256(`${state.key}\nWORKDIR ${dir} ${state.config.User ?? ''}`);
      state.key = key;
      const below = layerDirs(store, state);
      // Where it is: through the image's own symlinks (/var/run/x with /var/run -> /run makes /run/x).
      const real = below.length > 0 ? resolveInImage(below, dir, imageName) : dir;
      const existing = below.length > 0 ? lookupMerged(below, real, imageName) : undefined;
      if (existing?.kind === 'dir') {
        state.history.push({ created: state.created, created_by: `WORKDIR ${dir}`, empty_layer: true, comment: 'stack build' });
        return configured();
      }
      if (!options.noCache && (await fromCache(store, state, key, `WORKDIR ${dir}`))) {
        announce(true);
        return 'cached';
      }
      announce(false);
      // Made as BuildKit makes it: its missing folders 0755, owned by the stage's USER; the
      // folders on its way that the image has keep their mode and owner in the layer.
      const owner = ownerOf(state, store, imageName, options.service);
      const layer = join(ctx.scratch, randomBytes(8).toString('hex'));
      await mkdir(layer, { mode: 0o755 });
      await foldersOnWay(layer, real.split('/').filter((p) => p !== ''), (abs) => imageEntryAt(below, abs, imageName), owner, (inside) =>
        stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `${inside} is a file in the image, not a folder`, 'choose a working folder that is not a file'),
      );
      await commitLayer(store, state, layer, key, `WORKDIR ${dir}`);
      return 'ran';
    }
    case 'COPY':
    case 'ADD':
      return copyStep(ins, state, ctx, expand, (body) => expandHeredoc(body, lookup), inImage, imageName, announce);
    case 'RUN':
      return runInstruction(ins, state, ctx, lookup, workdir, imageName, announce);
    case 'FROM':
      throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', 'FROM inside a stage (a bug of the parser)');
  }
}

/** Who owns what a step makes for the stage's USER: root when none; a name resolved in the stage's own /etc/passwd. */
function ownerOf(state: StageState, store: ImageStore, image: string, service: string): { uid: number; gid: number } {
  const user = state.config.User;
  if (user === undefined || user === '') return { uid: 0, gid: 0 };
  const id = resolveLayeredUser(service, image, user, layerDirs(store, state));
  return { uid: id.uid, gid: id.gid };
}

/** COPY and ADD: from the context, or from another stage or image (`--from`). */
async function copyStep(
  ins: Extract<Instruction, { keyword: 'COPY' | 'ADD' }>,
  state: StageState,
  ctx: StepContext,
  expand: (w: string) => string,
  expandBody: (body: string) => string,
  inImage: (p: string) => string,
  imageName: string,
  announce: (cached: boolean) => void,
): Promise<'ran' | 'cached'> {
  const { options, file, df } = ctx;
  const store = options.store;
  if (ins.parents || ins.keepGitDir) {
    const flag = ins.parents ? '--parents' : '--keep-git-dir';
    throw stepError(file, ins, 'BUILD_UNSUPPORTED', `${ins.keyword} ${flag} is not supported by stack yet`, `leave ${flag} out`);
  }
  // Heredoc sources (`COPY <<EOF /etc/app.conf`): files of their own, their text expanded unless the delimiter was quoted.
  const docs = ins.heredocs.map((h) => ({ name: h.name, text: h.expand ? expandBody(h.body) : h.body }));
  for (const d of docs) {
    // The file's own name: BuildKit makes it in a folder of its own, so no / and no . or ..
    if (d.name === '' || d.name === '.' || d.name === '..' || d.name.includes('/')) {
      throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `a heredoc named ${JSON.stringify(d.name)} cannot be a file name`, 'name it as the file it becomes, e.g. <<app.conf, or give the file\'s path as the destination');
    }
  }
  const written = ins.sources.map(expand);
  const checksum = ins.checksum !== undefined ? expand(ins.checksum) : undefined;
  // ADD of an http(s) URL: downloaded (never unpacked), as a file of its own; other URLs refused.
  const urls = ins.keyword === 'ADD' ? written.filter((w) => /^https?:\/\//i.test(w)) : [];
  for (const w of written) {
    if (urls.includes(w)) continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(w) || w.startsWith('git@')) {
      throw stepError(file, ins, 'BUILD_UNSUPPORTED', `${ins.keyword} of ${w}: ${ins.keyword === 'ADD' ? 'stack downloads http and https URLs only (no git)' : 'COPY takes no URL'}`, 'download it in a RUN step (curl, wget), or put the file in the context');
    }
  }
  if (checksum !== undefined && (urls.length !== 1 || written.length !== 1)) {
    throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', 'ADD --checksum checks the download of one URL', 'give ADD --checksum a single http(s) source');
  }
  if (checksum !== undefined && !/^sha256:[a-f0-9]{64}$/.test(checksum)) throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `--checksum=${checksum} is not a sha256 digest`, 'write --checksum=sha256:<64 hex digits>');
  const sources = written.filter((w) => !urls.includes(w));
  // Each URL is fetched before the cache is looked at (its content is in the cache key), but one
  // --checksum names: its checksum is the key, and it is fetched only when the step runs.
  const fetchUrls = () =>
    downloadAll(urls, join(ctx.scratch, `${randomBytes(8).toString('hex')}-urls`), checksum, ctx.options.signal).catch((e: unknown) => {
      throw e instanceof UserError ? stepError(file, ins, e.code, e.message, e.hint) : e;
    });
  const rawDest = expand(ins.dest);
  // --link: the layer stands on its own, as BuildKit makes it: the destination taken as written
  // (not through the image's symlinks), the folders on its way made 0755 whatever the image has.
  const below = ins.link ? [] : layerDirs(store, state);
  // Relative to WORKDIR, and through the image's own symlinks (/var/run -> /run): the copy writes where they lead.
  const absolute = rawDest.startsWith('/') ? rawDest : inImage(rawDest);
  const resolved = below.length > 0 ? resolveInImage(below, absolute, imageName) : posix.normalize(absolute);
  const into = rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.');
  const dest = resolved === '/' || !into ? resolved : `${resolved}/`;
  const owner = ins.chown !== undefined ? chownOf(expand(ins.chown), layerDirs(store, state), imageName, options.service) : undefined;
  let mode: number | undefined;
  if (ins.chmod !== undefined) {
    const text = expand(ins.chmod);
    if (!/^[0-7]{3,4}$/.test(text)) throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `--chmod=${text} is not an octal mode`, 'e.g. --chmod=0755 (symbolic modes are not supported)');
    mode = parseInt(text, 8);
  }
  if (sources.length + docs.length + urls.length > 1 && !dest.endsWith('/')) {
    throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `${ins.keyword} with more than one source needs a destination folder ending with /`, `write ${rawDest}/`);
  }
  const request: CopyRequest = { sources, dest, ...(owner && { owner }), ...(mode !== undefined && { mode }), ...(ins.exclude.length > 0 && { exclude: ins.exclude.map(expand) }) };
  // Where the sources come from: the context, or the merged root of a stage or an image.
  const work = join(ctx.scratch, randomBytes(8).toString('hex'));
  let root: CopyRoot = ctx.context;
  let fromKey = 'context';
  if (ins.from !== undefined) {
    // With the global ARGs, as the stages to build were chosen (neededStages).
    const from = expandWord(ins.from, (n) => ctx.global.get(n), df.escape);
    if (from === '') throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `--from=${ins.from} is empty once its variables are expanded`, 'give the ARG (declared before the first FROM) a value');
    const found = await fromRoot(ctx, from, '--from');
    fromKey = found.key;
    const materialized = `${work}-from`;
    await mkdir(materialized, { mode: 0o700 });
    for (const source of sources) await materialize(found.layers, source, materialized, found.name);
    root = { dir: materialized, keepOwners: true, label: found.name };
  }
  const digest = sources.length > 0 ? await copySourceDigest(root, request) : '';
  const createdBy = `${ins.keyword} ${ins.original.slice(ins.keyword.length).trim()}`;
  let downloads = urls.length > 0 && checksum === undefined ? await fetchUrls() : [];
  const fetched = checksum !== undefined ? urls.map((url) => ({ url, checksum })) : downloads.map((d) => ({ url: d.url, name: d.name, digest: d.digest, mtime: d.mtime }));
  const key = sha256(`${state.key}\n${ins.keyword}${ins.link ? ' --link' : ''} ${fromKey} ${JSON.stringify(request)} ${digest}${docs.length > 0 ? ` ${sha256(JSON.stringify(docs))}` : ''}${fetched.length > 0 ? ` ${JSON.stringify(fetched)}` : ''}`);
  state.key = key;
  if (!options.noCache && (await fromCache(store, state, key, createdBy))) {
    announce(true);
    return 'cached';
  }
  announce(false);
  if (urls.length > 0 && checksum !== undefined) downloads = await fetchUrls();
  // ADD unpacks a local tar archive (plain or gzip) into the destination folder instead of copying it.
  const archives: { source: string; kind: 'tar' | 'gzip'; path: string }[] = [];
  // A glob is looked at match by match (Docker unpacks each archive it matches); the others are copied.
  let copySources = sources;
  if (ins.keyword === 'ADD' && ins.from === undefined && sources.length > 0) {
    copySources = sources.flatMap((source) => (/[*?[]/.test(source) ? globMatches(ctx.context, source) : [source]));
    for (const source of copySources) {
      const found = await archiveIn(ctx.context, source);
      if (found === undefined) continue;
      if (found.kind === 'bzip2' || found.kind === 'xz') {
        throw stepError(file, ins, 'BUILD_UNSUPPORTED', `ADD of the ${found.kind} file ${source}: stack unpacks plain and gzip tar archives only`, 'recompress it with gzip (tar -czf), or COPY it (and unpack it in a RUN step)');
      }
      // A gzip that is no tar (a compressed dump) is copied as it is, as BuildKit copies it.
      if (await isTarArchive(found.path, found.kind)) archives.push({ source, kind: found.kind, path: found.path });
    }
  }
  const folderOf = (abs: string) => imageEntryAt(below, abs, imageName);
  // A folder the image has keeps its owner and mode in the layer.
  const imageFolder = (abs: string): { kind: 'dir'; mode: number; uid: number; gid: number } | 'file' | undefined => {
    const e = folderOf(abs);
    return e === undefined ? undefined : e === 'other' ? 'file' : { kind: 'dir', ...e };
  };
  await mkdir(work, { mode: 0o755 });
  const copied = copySources.filter((source) => !archives.some((a) => a.source === source));
  // A glob that matched only archives copies nothing; one that matched nothing is said by the copy, as for COPY.
  if (sources.length > 0 && (copied.length > 0 || archives.length === 0)) await copyInto(root, { ...request, sources: copied.length > 0 ? copied : sources }, work, imageFolder);
  for (const a of archives) await unpackArchive(a.path, a.kind, work, dest.endsWith('/') ? dest : `${dest}/`, folderOf, owner, a.source);
  // A destination without a trailing / that is a folder (of the image, or of this step's copy) takes the file by its name, as a copy does.
  const intoFolder = dest.endsWith('/') || (dest !== '/' && (typeof folderOf(dest) === 'object' || (await lstat(join(work, dest)).catch(() => undefined))?.isDirectory() === true));
  const targetOf = (name: string) => (intoFolder ? posix.join(dest, name) : dest);
  try {
    for (const doc of docs) await writeOwnFile(work, targetOf(doc.name), { text: doc.text }, owner, mode ?? 0o644, folderOf);
    // A download is 0600 (or --chmod), dated by its Last-Modified, as Docker writes it.
    for (const d of downloads) await writeOwnFile(work, targetOf(d.name), { from: d.path, ...(d.mtime !== undefined && { mtime: d.mtime }) }, owner, mode ?? 0o600, folderOf);
  } catch (e) {
    if (e instanceof UserError) throw stepError(file, ins, e.code, e.message, e.hint);
    throw e;
  }
  await commitLayer(store, state, work, key, createdBy);
  return 'ran';
}

/** An ADD's download: its URL, the file name it gets in a folder, where it is, its digest and Last-Modified (ms). */
interface Download {
  readonly url: string;
  readonly name: string;
  readonly path: string;
  readonly digest: string;
  readonly mtime?: number;
}

/**
 * Downloads each URL into `dir` (made here), following redirects, its sha256 taken on the way;
 * `checksum` (ADD --checksum) must be the one download's digest. A failure is a UserError.
 */
async function downloadAll(urls: readonly string[], dir: string, checksum: string | undefined, cancel?: AbortSignal, idleMs = 60_000): Promise<Download[]> {
  await mkdir(dir, { mode: 0o700 });
  const out: Download[] = [];
  for (const [i, url] of urls.entries()) out.push(await download(url, join(dir, String(i)), checksum, cancel, idleMs));
  return out;
}

/** One download of downloadAll, into the file `path`. */
async function download(url: string, path: string, checksum: string | undefined, cancel: AbortSignal | undefined, idleMs: number): Promise<Download> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError('BUILD_BAD_INSTRUCTION', `ADD of ${url}: not a URL`, 'write an http:// or https:// URL');
  }
  // The name it gets in a folder: the last part of its path, as BuildKit names it (__unnamed__ for none).
  let decoded = parsed.pathname;
  try {
    decoded = decodeURIComponent(parsed.pathname);
  } catch {
    // a malformed escape: the path as written
  }
  const base = posix.basename(decoded);
  const name = base === '' || base === '.' || base === '..' || base === '/' ? '__unnamed__' : base;
  // Given up after idleMs without a byte (not after a total time: a large file on a slow link is
  // fine), or when the build is cancelled.
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new UserError('BUILD_DOWNLOAD_FAILED', `ADD of ${url}: nothing came for ${Math.round(idleMs / 1000)} s`, 'check the URL and the network, then build again')), idleMs);
  };
  const cancelled = () => controller.abort(new UserError('BUILD_CANCELLED', `ADD of ${url}: the build was cancelled`));
  cancel?.addEventListener('abort', cancelled, { once: true });
  arm();
  const failure = (e: unknown, what: string): UserError =>
    controller.signal.reason instanceof UserError ? controller.signal.reason
    : e instanceof UserError ? e
    : new UserError('BUILD_DOWNLOAD_FAILED', `ADD of ${url}: ${what} (${(e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code ?? (e as Error).message})`, 'check the URL and the network (the build reaches it from this host), then build again');
  try {
    let res: Response;
    try {
      // As sent: a .tar.gz served with Content-Encoding gzip must not arrive unpacked.
      await trustDeferredCertificates();
      res = await fetch(url, { redirect: 'follow', signal: controller.signal, headers: { 'Accept-Encoding': 'identity' } });
    } catch (e) {
      throw failure(e, 'cannot download it');
    }
    if (!res.ok || res.body === null) {
      await res.body?.cancel().catch(() => undefined);
      throw new UserError('BUILD_DOWNLOAD_FAILED', `ADD of ${url}: the server answered HTTP ${res.status}`, 'check the URL');
    }
    const hash = createHash('sha256');
    const handle = await open(path, 'wx', 0o600);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        hash.update(chunk);
        await handle.write(chunk);
      }
    } catch (e) {
      throw failure(e, 'the download broke off');
    } finally {
      await handle.close();
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (checksum !== undefined && digest !== checksum) {
      throw new UserError('BUILD_CHECKSUM_MISMATCH', `ADD of ${url}: the download has digest ${digest}, --checksum says ${checksum}`, 'the file changed on the server, or the checksum is wrong');
    }
    const modified = Date.parse(res.headers.get('last-modified') ?? '');
    return { url, name, path, digest, ...(Number.isFinite(modified) && { mtime: modified }) };
  } finally {
    clearTimeout(idle);
    cancel?.removeEventListener('abort', cancelled);
  }
}

/**
 * Makes the folders `parts` under the layer folder `layer` (one after the other, the path in the
 * image growing): one the layer has already is kept if it is a real folder (else `inLayer`'s
 * error: a file or a symlink this step wrote), one the image has gets the image's mode and owner
 * (a file there: `isFile`'s error), any other 0755 owned by `owner`. Returns the last one's path.
 */
async function foldersOnWay(
  layer: string,
  parts: readonly string[],
  folderOf: (abs: string) => { mode: number; uid: number; gid: number } | 'other' | undefined,
  owner: { uid: number; gid: number },
  isFile: (inside: string) => UserError,
  inLayer?: (inside: string) => UserError,
): Promise<string> {
  let at = layer;
  let inside = '';
  for (const part of parts) {
    at = join(at, part);
    inside = `${inside}/${part}`;
    const st = await lstat(at).catch(() => undefined);
    if (st !== undefined) {
      if (!st.isDirectory()) throw (inLayer ?? isFile)(inside);
      continue;
    }
    const there = folderOf(inside);
    if (there === 'other') throw isFile(inside);
    await makeFolder(at, there ?? { mode: 0o755, ...owner });
  }
  return at;
}

/**
 * Writes a file of its own (a heredoc's text, or the file `from`: an ADD's download) as `target`
 * (absolute in the image) of the layer folder `work`, which this step's copy may have filled
 * already: nothing of it is followed (each folder on the way must be a real folder of the layer,
 * made here when missing: the image's mode and owner where the image has it, else 0755 with the
 * file's owner), and the file must not be there yet. Mode `mode`, owner --chown or root.
 */
async function writeOwnFile(
  work: string,
  target: string,
  content: { readonly text?: string; readonly from?: string; readonly mtime?: number },
  owner: { uid: number; gid: number } | undefined,
  mode: number,
  folderOf: (abs: string) => { mode: number; uid: number; gid: number } | 'other' | undefined,
): Promise<void> {
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new UserError('BUILD_BAD_INSTRUCTION', `${target} cannot be written as a file`, 'name a file as the destination, or a folder ending with /');
  const uid = owner?.uid ?? 0;
  const gid = owner?.gid ?? 0;
  const at = await foldersOnWay(
    work,
    parts.slice(0, -1),
    folderOf,
    { uid, gid },
    (inside) => new UserError('BUILD_BAD_INSTRUCTION', `${inside} is a file in the image, not a folder`, 'choose a destination whose folders are folders'),
    (inside) => new UserError('COPY_DEST_CONFLICT', `${inside} is not a folder in this step's layer (a file or a symlink copied there): ${target} cannot be written`, 'choose a destination whose folders are folders'),
  );
  const path = join(at, parts[parts.length - 1]!);
  if ((await lstat(path).catch(() => undefined)) !== undefined) {
    throw new UserError('COPY_DEST_CONFLICT', `${target} is written twice by this step`, 'give each source a name of its own in the destination');
  }
  if (content.from !== undefined) {
    await rename(content.from, path); // the folders on the way are real: nothing followed
    await lchown(path, uid, gid);
    await chmod(path, mode);
  } else {
    // O_EXCL: never through a symlink, never over a file made meanwhile.
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(content.text ?? '');
      await handle.chown(uid, gid);
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  }
  if (content.mtime !== undefined) await utimes(path, content.mtime / 1000, content.mtime / 1000);
}

/** `path` (absolute, in the image) with the symlinks on its way resolved inside the image's merged view; the last component is resolved too when it is a symlink to a folder. */
function resolveInImage(layers: readonly string[], path: string, image: string): string {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  for (let links = 0; pending.length > 0; ) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const at = `/${[...done, c].join('/')}`;
    const e = lookupMerged(layers, at, image, false);
    if (e?.kind === 'other' && e.stat.isSymbolicLink()) {
      if (pending.length === 0 && lookupMerged(layers, at, image, true)?.kind !== 'dir') {
        done.push(c); // a link to a file (or to nothing) is replaced, as Docker replaces it
        break;
      }
      if (++links > 40) return `/${[...done, c, ...pending].join('/')}`; // a loop: the copy says so
      const target = readlinkSync(e.path);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(c);
  }
  return `/${done.join('/')}`;
}

/** Copies the merged view's `source` (a file or a folder; a glob: the folder its first wildcard is in) of `layers` to the same path under `into`. */
async function materialize(layers: readonly string[], source: string, into: string, image: string): Promise<void> {
  const parts = posix.normalize(`/${source}`).split('/').filter((p) => p !== '');
  const wild = parts.findIndex((p) => /[*?[]/.test(p));
  const path = `/${(wild < 0 ? parts : parts.slice(0, wild)).join('/')}`;
  if (layers.length === 0) return;
  // Followed to the end: a symlink's target (a link to nothing is no entry: copyInto says the source is missing).
  const entry = lookupMerged(layers, path, image);
  if (entry === undefined) return;
  const target = join(into, path);
  await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
  if (entry.kind === 'dir') {
    await mkdir(target, { recursive: true, mode: 0o755 });
    await copyImageContent(layers, path, target, image);
    return;
  }
  await copyFile(entry.path, target);
  await lchown(target, entry.stat.uid, entry.stat.gid); // before the mode: a chown clears set-id bits
  await chmod(target, entry.stat.mode & 0o7777);
  await utimes(target, entry.stat.atime, entry.stat.mtime);
}

/** RUN: the command on the stage's root, its changes the step's layer. */
async function runInstruction(
  ins: Extract<Instruction, { keyword: 'RUN' }>,
  state: StageState,
  ctx: StepContext,
  lookup: (name: string) => string | undefined,
  workdir: string,
  imageName: string,
  announce: (cached: boolean) => void,
): Promise<'ran' | 'cached'> {
  const { options, file } = ctx;
  const store = options.store;
  const mounts: RunMount[] = [];
  for (const m of ins.mounts) {
    try {
      mounts.push(parseRunMount(expandWord(m, lookup, ctx.df.escape), workdir));
    } catch (e) {
      if (e instanceof RunMountError) throw stepError(file, ins, 'BUILD_RUN_MOUNT', e.message, e.hint);
      throw e;
    }
  }
  const network = ins.network === undefined || ins.network === 'default' ? options.network : ins.network;
  if (network !== 'host' && network !== 'none') throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', `--network=${ins.network} is not a network mode`, 'use --network=default, host or none');
  // `RUN <<EOF` whose script starts with `#!`: the script is a file the step runs (BuildKit mounts
  // it at /dev/pipes/EOF), so its interpreter is the one its first line names, not the SHELL.
  const script = ins.command.kind === 'shell' && ins.command.heredoc !== undefined && ins.command.command.startsWith('#!') ? { name: ins.command.heredoc, body: ins.command.command } : undefined;
  const argv = script !== undefined ? [`/dev/pipes/${script.name}`] : argvOf(ins.command, state.config.Shell ?? DEFAULT_SHELL);
  // The step's environment: the image's Env, then the stage's ARGs with a value (not kept in the image).
  const env: Record<string, string> = {};
  for (const [name, value] of state.args) if (value !== undefined) env[name] = value;
  for (const name of PREDEFINED_ARGS) if (options.args[name] !== undefined) env[name] = options.args[name];
  for (const e of state.config.Env) {
    const eq = e.indexOf('=');
    env[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? '' : e.slice(eq + 1);
  }
  if (env.PATH === undefined) env.PATH = DEFAULT_SEARCH_PATH;
  const argsUsed = [...state.args].filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
  // What the step's bind mounts show is part of its input; a cache mount's content is not (BuildKit's rule).
  const plans = await Promise.all(mounts.map((m) => mountPlan(m, ctx, imageName)));
  const views: MountPlan[] = [...plans];
  if (script !== undefined) {
    const file = join(ctx.scratch, randomBytes(8).toString('hex'));
    await writeFile(file, script.body, { mode: 0o755 });
    views.push({ key: `script ${sha256(script.body)}`, prepare: async () => ({ mount: { type: 'bind', source: file, target: argv[0]!, readOnly: true } }) });
  }
  const key = sha256(`${state.key}\nRUN ${JSON.stringify(argv)} ${JSON.stringify(argsUsed)} ${network} ${JSON.stringify(views.map((v) => v.key))}`);
  state.key = key;
  const createdBy = `RUN ${ins.original.slice(3).trim()}`;
  if (!options.noCache && (await fromCache(store, state, key, createdBy))) {
    announce(true);
    return 'cached';
  }
  announce(false);
  const layers = layerDirs(store, state);
  if (layers.length === 0) throw stepError(file, ins, 'BUILD_BAD_INSTRUCTION', 'RUN on an empty image (FROM scratch) has no program to run', 'COPY a program in first, or start FROM an image');
  const identity: Identity = state.config.User ? resolveLayeredUser(options.service, imageName, state.config.User, layers) : { uid: 0, gid: 0, groups: [] };
  const dir = join(ctx.scratch, randomBytes(8).toString('hex'));
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  await mkdir(upper, { recursive: true, mode: 0o755 });
  await mkdir(work, { mode: 0o700 });
  const prepared: { mount?: ViewMount; release?: () => Promise<void> }[] = [];
  try {
    for (const v of views) prepared.push(await v.prepare());
    await runStep(
      {
        project: options.project,
        service: options.service,
        argv,
        env,
        workingDir: workdir,
        identity,
        layers,
        upper,
        work,
        scratch: join(dir, 'step'),
        network,
        buildId: ctx.buildId,
        mounts: prepared.flatMap((p) => (p.mount === undefined ? [] : [p.mount])),
        onLine: options.onLine,
        ...(options.signal && { signal: options.signal }),
      },
      `${file}:${ins.line}: ${ins.original.split('\n')[0]}`,
    );
  } finally {
    for (const p of prepared) await p.release?.();
  }
  await rm(work, { recursive: true, force: true });
  await removeMountStubs(upper, mounts.map((m) => m.target), layers, imageName);
  await commitLayer(store, state, upper, key, createdBy);
  return 'ran';
}

/** A RUN's `--mount`: what of it goes into the step's cache key, and (on a cache miss) what the launcher mounts, and what to let go after the step. */
interface MountPlan {
  readonly key: string;
  /** What the launcher mounts (none: an optional secret the build was not given). */
  prepare(): Promise<{ mount?: ViewMount; release?: () => Promise<void> }>;
}

/** The stage `from` names (a name or an index) when one comes before, else undefined (an image). */
function stageNamed(df: Dockerfile, from: string): number | undefined {
  const i = df.stages.findIndex((s, n) => (s.name !== undefined && s.name.toLowerCase() === from.toLowerCase()) || String(n) === from);
  return i < 0 ? undefined : i;
}

async function mountPlan(m: RunMount, ctx: StepContext, imageName: string): Promise<MountPlan> {
  const store = ctx.options.store;
  if (m.type === 'tmpfs') {
    return { key: `tmpfs ${m.target}`, prepare: async () => ({ mount: { type: 'tmpfs', target: m.target, readOnly: false, ...(m.sizeBytes !== undefined && { sizeBytes: m.sizeBytes }) } }) };
  }
  if (m.type === 'cache') {
    // Kept in the store between builds, one folder per id; its content is no input of the step's.
    return {
      key: `cache ${m.id} ${m.target} ${m.readOnly}`,
      prepare: async () => {
        const root = join(store.root, 'build-cache-mounts');
        await mkdir(root, { recursive: true, mode: 0o700 });
        let dir = join(root, sha256(m.id));
        let release: (() => Promise<void>) | undefined;
        // sharing=locked: one step at a time (across stack processes); private: a folder of its own while another holds it.
        if (m.sharing !== 'shared') {
          const lockPath = `${dir}.lock`;
          try {
            const lock = await acquireFileLock(lockPath, root, `cache mount ${m.id}`, { command: 'stack build', wait: m.sharing === 'locked' });
            release = () => lock.release();
          } catch (e) {
            if (!(e instanceof UserError) || e.code !== 'LOCKED') throw e;
            dir = join(ctx.scratch, `cache-${randomBytes(8).toString('hex')}`);
          }
        }
        const made = await mkdir(dir, { recursive: true, mode: 0o700 });
        if (made !== undefined) {
          await lchown(dir, m.uid, m.gid);
          await chmod(dir, m.mode);
        }
        return { mount: { type: 'bind', source: dir, target: m.target, readOnly: m.readOnly }, ...(release && { release }) };
      },
    };
  }
  if (m.type === 'secret') {
    // Not in the key (BuildKit's rule): a changed secret does not run the step again.
    const read = ctx.options.secrets?.[m.id];
    if (read === undefined && m.required) throw new UserError('BUILD_SECRET_MISSING', `--mount=type=secret,id=${m.id}: the build has no secret "${m.id}"`, `list it under the service's build.secrets (a secret declared at the top level), or drop required`);
    return {
      // BuildKit's key has the mount's options, not the value.
      key: `secret ${m.id} ${m.target} ${m.mode} ${m.uid} ${m.gid} ${m.required}`,
      prepare: async () => {
        if (read === undefined) return {};
        // A copy of its own, 0400 (mode=) and owned as asked, bound read-only; gone with the build's folder.
        const file = join(ctx.scratch, `secret-${randomBytes(8).toString('hex')}`);
        const out = await open(file, 'wx', 0o600);
        try {
          await out.writeFile(await read());
          await out.chown(m.uid, m.gid);
          await out.chmod(m.mode);
        } finally {
          await out.close();
        }
        // Removed once the step ends, not with the build's folder at its end.
        return { mount: { type: 'bind', source: file, target: m.target, readOnly: true }, release: () => rm(file, { force: true }) };
      },
    };
  }
  // A bind: a copy (the step's own: what it writes there is dropped) of what the context shows at
  // the source, its .dockerignore obeyed, or of a stage's or an image's files.
  const copy = (): Promise<string> => {
    const dir = join(ctx.scratch, randomBytes(8).toString('hex'));
    return mkdir(dir, { mode: 0o755 }).then(() => dir);
  };
  const readOnly = !m.writable;
  if (m.from === undefined) {
    const request: CopyRequest = { sources: [m.source], dest: '/mount/' };
    const digest = await copySourceDigest(ctx.context, request);
    return {
      key: `bind ${m.source} ${m.target} ${readOnly} ${digest}`,
      prepare: async () => {
        const dir = await copy();
        await copyInto(ctx.context, request, dir, () => undefined);
        // A folder's content went into mount/, a file (or a link to one) into mount/<its name>.
        const into = join(dir, 'mount');
        const path = await inContext(ctx.context.dir, m.source);
        const folder = path !== undefined && (await lstat(path)).isDirectory();
        return { mount: { type: 'bind', source: folder ? into : join(into, posix.basename(posix.normalize(`/${m.source}`))), target: m.target, readOnly } };
      },
    };
  }
  const { layers, key } = await fromRoot(ctx, m.from, '--mount from');
  const inImage = posix.normalize(`/${m.source}`);
  const name = `${imageName} --mount from=${m.from}`;
  if (layers.length === 0 || lookupMerged(layers, inImage, name) === undefined) {
    throw new UserError('COPY_SOURCE_MISSING', `--mount from=${m.from}: ${m.source} is not in it`, 'name a path the stage or image has');
  }
  return {
    key: `bind from ${key} ${m.source} ${m.target} ${readOnly}`,
    prepare: async () => {
      const dir = await copy();
      await materialize(layers, m.source, dir, name);
      return { mount: { type: 'bind', source: join(dir, inImage), target: m.target, readOnly } };
    },
  };
}

/** The real path of the context's `rel`, symlinks followed, when it lies inside the context (the context itself too); else undefined. */
async function inContext(context: string, rel: string): Promise<string | undefined> {
  try {
    const [path, root] = await Promise.all([realpath(join(context, posix.normalize(`/${rel}`))), realpath(context)]);
    return path === root || path.startsWith(`${root}/`) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The folders and files the launcher made in a RUN's upper to mount on (targets the image lacks): removed, as BuildKit removes its mount stubs. */
async function removeMountStubs(upper: string, targets: readonly string[], layers: readonly string[], image: string): Promise<void> {
  for (const target of targets) {
    let path = posix.normalize(target);
    while (path !== '/' && lookupMerged(layers, path, image, false) === undefined) {
      const at = join(upper, path);
      const st = await lstat(at).catch(() => undefined);
      if (st === undefined) break;
      if (st.isDirectory()) {
        if ((await readdir(at)).length > 0) break;
        await rmdir(at);
      } else if (st.isFile() && st.size === 0) await rm(at, { force: true });
      else break;
      path = posix.dirname(path);
    }
  }
}

/** Writes the image's config and manifest blobs and its records; the store then keeps its layers. */
async function writeImage(store: ImageStore, state: StageState, names: readonly string[]): Promise<Omit<BuiltImage, 'ran' | 'cached'>> {
  const c = state.config;
  const runConfig: Record<string, unknown> = { Env: c.Env };
  // Maps with their keys sorted, as Go writes them: the same labels in another order are the same image.
  const sorted = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  for (const k of ['User', 'Entrypoint', 'Cmd', 'WorkingDir', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild'] as const) {
    const v = c[k];
    if (v === undefined || v === null) continue;
    runConfig[k] = k === 'ExposedPorts' || k === 'Volumes' || k === 'Labels' ? sorted(v as Record<string, unknown>) : v;
  }
  const config = {
    created: state.created,
    architecture: state.platform.architecture,
    os: state.platform.os,
    ...(state.platform.variant !== '' && { variant: state.platform.variant }),
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: state.diffIds },
    history: state.history,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = digestOf(configBytes);
  // The layers' descriptors name the uncompressed tars (their digest is the DiffID).
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: state.diffIds.map((d, i) => ({ mediaType: MediaType.ociLayer, digest: d, size: state.sizes[i] ?? 0 })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = digestOf(manifestBytes);
  await store.putBlob(configDigest, configBytes);
  await store.putBlob(manifestDigest, manifestBytes);
  const platform = formatPlatform(state.platform);
  for (const name of names) {
    await store.putRecord({ name, digest: manifestDigest, manifestDigest, configDigest, platform, layers: [...state.layers], pulledAt: new Date().toISOString(), built: true });
  }
  return { configDigest, manifestDigest, layers: state.layers };
}

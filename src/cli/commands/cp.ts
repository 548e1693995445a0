// `stack cp SERVICE:SRC DEST` and `stack cp SRC SERVICE:DEST`: files between the host and a
// running service, with `docker cp`'s rules (a file onto a file or into a folder, a folder as a
// new folder or into an existing one, `SRC/.` for a folder's contents, `-` for a tar stream on
// stdin/stdout, -a to keep owners, -L to follow a symlink SRC).
// The service's side is always reached THROUGH ITS OWN VIEW: `tar` runs inside the service (the
// exec helper enters its namespaces and root, as root with the service's own capabilities and
// seccomp filter: AS_ROOT below), so every path — symlinks included — resolves the way the
// service sees it: a link to `/` is the service's `/`, and nothing the service cannot see (the
// host's /tmp, hidden folders) is reachable. The service's archive is hostile input on the host:
// GNU tar refuses `..` and absolute members and never writes through a symlink it extracted,
// and a new destination is unpacked into a fresh folder first and renamed into place.
// Needs `tar` and `sh` in the service (a host program's service sees the host's).
import { spawn } from 'node:child_process';
import { mkdtemp, realpath, rename, rm, stat, lstat } from '../../sys/fs-async.js';
import { dirname, join, posix, resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { execAttached, execInService, type ExecTarget } from '../../runtime/index.js';
import { runningProject } from './running-project.js';
import { runningServices } from './service-cgroups.js';
import { replicaKey } from '../../names.js';

const HELP = `Usage: stack cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-
       stack cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH

Copy files or folders between a running service and the host. Paths in the service resolve as
the service sees them (its own root and mounts): a symlink there never reaches the host's files.

Options:
  -a, --archive       Keep the owners (uid:gid) of what is copied
  -L, --follow-link   Follow a symlink given as SRC_PATH
      --index N       Which replica of a scaled service (default 1)
  -h, --help          Print this help
`;

/** One side of a copy: a host path (or `-`) or a path in a service. */
export type CopyEnd = { readonly kind: 'host'; readonly path: string } | { readonly kind: 'service'; readonly service: string; readonly path: string };

/** docker cp's reading of an argument: `SERVICE:PATH` unless it starts with `/` or `.` (a local path with a colon: `./a:b`). */
export function parseCopyEnd(arg: string): CopyEnd {
  const colon = arg.indexOf(':');
  if (arg.startsWith('/') || arg.startsWith('.') || colon <= 0) return { kind: 'host', path: arg };
  const path = arg.slice(colon + 1);
  return { kind: 'service', service: arg.slice(0, colon), path: path === '' ? '/' : posix.isAbsolute(path) ? path : `/${path}` };
}

/** What a path is, as `sh` in the service or lstat/stat on the host reports it. */
export type PathKind = 'dir' | 'file' | 'link' | 'none';

/** How a copy lands: unpacked into `dir` with the top entry named `name` (undefined: as archived). */
export interface Landing {
  /** Folder the archive is unpacked in. */
  readonly dir: string;
  /** The new name of the copied entry (a destination that does not exist, or a file replaced). */
  readonly rename?: string;
}

/**
 * docker cp's rules for where a copy of `src` (a `srcKind`, its contents when `contents`) lands
 * at `dest` (a `destKind`; `destParent` the kind of its folder): a UserError when it cannot.
 */
export function landing(srcKind: PathKind, dest: string, destKind: PathKind, destParent: PathKind): Landing {
  const srcDir = srcKind === 'dir';
  if (destKind === 'dir') return { dir: dest };
  if (destKind !== 'none') {
    if (srcDir) throw new UserError('CP_DIR_ONTO_FILE', `cannot copy a folder onto the file ${dest}`, 'name a folder, or a path that does not exist yet');
    return { dir: posix.dirname(dest), rename: posix.basename(dest) };
  }
  if (dest.endsWith('/') && !srcDir) throw new UserError('CP_NO_DEST_DIR', `destination folder ${dest} does not exist`, 'create it first, or drop the trailing /');
  if (destParent !== 'dir') throw new UserError('CP_NO_DEST_DIR', `folder ${posix.dirname(dest.replace(/\/+$/, '') || '/')} does not exist`, 'create it first');
  const trimmed = dest.replace(/\/+$/, '');
  return { dir: posix.dirname(trimmed), rename: posix.basename(trimmed) };
}

/** A GNU tar --transform renaming the top entry `from` (or `.` for a folder's contents) to `to`. */
export function renameTransform(from: string, to: string): string {
  const re = from.replace(/[\\.*[\]^$,]/g, '\\$&');
  const rep = to.replace(/[\\&,]/g, '\\$&');
  return `s,^${re}\\(/\\|$\\),${rep}\\1,S`; // S: member names only, never a symlink's target
}

/** The kind of `path` in the service, and of its folder. */
const PROBE = 'k() { if [ -L "$1" ] && [ "$2" != follow ]; then printf link; elif [ -d "$1" ]; then printf dir; elif [ -e "$1" ]; then printf file; else printf none; fi; }; k "$1" "$3"; printf " "; k "$(dirname -- "$1")" follow';

/** Runs `stack cp`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'cp',
    ctx.args,
    {
      archive: { type: 'boolean', short: 'a', default: false },
      'follow-link': { type: 'boolean', short: 'L', default: false },
      index: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UserError('CLI_BAD_ARGUMENTS', 'stack cp needs a source and a destination', 'e.g. stack cp web:/etc/hosts ./hosts, or stack cp ./conf web:/etc/app/');
  const [src, dest] = positionals.map(parseCopyEnd) as [CopyEnd, CopyEnd];
  if ((src.kind === 'service') === (dest.kind === 'service')) {
    throw new UserError('CLI_BAD_ARGUMENTS', 'stack cp copies between a service and the host: exactly one side is SERVICE:PATH', 'e.g. stack cp web:/data ./data (a local path with a colon: ./a:b)');
  }
  const service = src.kind === 'service' ? src.service : (dest as Extract<CopyEnd, { kind: 'service' }>).service;
  if (!/^[1-9]\d*$/.test(values.index)) throw new UserError('CLI_BAD_ARGUMENTS', `stack cp: --index ${values.index} is not a replica number`, 'replicas are numbered from 1');
  const target = await serviceTarget(ctx, service, Number(values.index));
  const options = { archive: values.archive, follow: values['follow-link'] };
  if (src.kind === 'service') return copyOut(ctx, target, src.path, resolvePath(ctx, dest.path), options);
  return copyIn(ctx, target, src.path === '-' ? '-' : resolvePath(ctx, src.path), (dest as Extract<CopyEnd, { kind: 'service' }>).path, options);
}

/** A host path against the command's folder, a trailing `/` or `/.` kept; `-` as is. */
function resolvePath(ctx: CommandContext, path: string): string {
  if (path === '-') return path;
  const tail = path.endsWith('/.') ? '/.' : path.endsWith('/') ? '/' : '';
  return resolve(ctx.cwd, path) + (tail && !resolve(ctx.cwd, path).endsWith('/') ? tail : '');
}

/** The running service to copy from or to (its spec as `up` applied it). */
async function serviceTarget(ctx: CommandContext, service: string, index: number): Promise<ExecTarget> {
  const { env, name, project } = await runningProject(ctx, 'cp', [service]);
  // Replica N of a scaled service has a key of its own (planner/replicas.ts).
  const key = replicaKey(service, index);
  const running = (await runningServices(env.roots, name)).find((s) => s.name === key);
  const spec = project?.services[key];
  const which = index === 1 ? `service "${service}"` : `replica ${index} of service "${service}"`;
  if (!running || !spec) throw new UserError('SERVICE_NOT_RUNNING', `${which} of project "${name}" is not running`, index === 1 ? `start it with \`stack up ${service}\`` : `\`stack ps\` lists the replicas; \`stack up --scale ${service}=${index}\` runs ${index}`);
  return { service: spec, pid: running.pid, startTime: running.startTime, cgroupDirs: running.cgroups };
}

/**
 * As root inside the service's view, with the service's own capabilities and filters, never
 * more: cp runs the service's own `sh` and `tar`, and a hostile image gets no privilege it did
 * not have (Docker's cp runs nothing of the container's). Root's default set reads and writes any
 * file and keeps owners (DAC_OVERRIDE, CHOWN, FOWNER); a service that dropped those cannot be
 * copied from beyond what they allow.
 */
const AS_ROOT = { user: '0' } as const;

/** The kinds of `path` and its folder in the service (through its view). */
async function probe(target: ExecTarget, path: string, follow: boolean): Promise<[PathKind, PathKind]> {
  const r = await execInService(target, ['sh', '-c', PROBE, 'sh', path, '', follow ? 'follow' : ''], AS_ROOT).catch(toolMissing);
  if (r.exitCode !== 0) throw new UserError('CP_FAILED', `stack cp: cannot look at ${path} in service "${target.service.name}": ${r.stderr.trim()}`, 'is the service running?');
  return r.stdout.split(' ') as [PathKind, PathKind];
}

/**
 * What SRC is, and the path to archive: `X/.` is the contents of the folder X leads to, a link or
 * not (the kernel follows it); -L, or a trailing slash (which resolves a path as a folder),
 * follows SRC itself when it is a symlink, and only SRC: links inside a copied folder stay
 * links, as docker cp leaves them. `kindOf` and `resolve` look on SRC's side (service or host).
 */
async function sourceOf(
  src: string,
  follow: boolean,
  kindOf: (path: string, follow: boolean) => Promise<PathKind>,
  resolve: (path: string) => Promise<string | undefined>,
): Promise<{ kind: PathKind; path: string }> {
  const contentsOf = src.endsWith('/.');
  const bare = src.replace(/\/\.$/, '').replace(/\/+$/, '') || '/';
  const kind = await kindOf(bare, contentsOf);
  if (kind !== 'link' || contentsOf || !(follow || src.endsWith('/'))) return { kind, path: src };
  const real = await resolve(bare);
  return real === undefined ? { kind: 'none', path: src } : { kind: await kindOf(real, false), path: real };
}

/** Where the symlink `path` leads in the service's view (`readlink -f` there); undefined when nowhere. */
async function resolveInService(target: ExecTarget, path: string): Promise<string | undefined> {
  const r = await execInService(target, ['readlink', '-f', '--', path], AS_ROOT).catch(toolMissing);
  const real = r.stdout.trim();
  return r.exitCode === 0 && posix.isAbsolute(real) ? real : undefined;
}

/** COMMAND_NOT_FOUND for tar/sh, said for cp. */
function toolMissing(e: unknown): never {
  if (e instanceof UserError && e.code === 'COMMAND_NOT_FOUND') {
    throw new UserError('CP_NO_TAR', `stack cp needs tar and sh inside the service: ${e.message}`, 'an image without them cannot be copied to or from; use a volume or a bind mount');
  }
  throw e;
}

/** The kind of a host path (lstat, or stat when following). */
async function hostKind(path: string, follow: boolean): Promise<PathKind> {
  try {
    const s = follow ? await stat(path) : await lstat(path);
    return s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'link' : 'file';
  } catch {
    return 'none';
  }
}

/** The folder copied and the entry in it: `/a/b/.` is b's contents (`.`), `/` is `/`'s. */
export function archived(path: string): { dir: string; entry: string; contents: boolean } {
  const clean = path.replace(/\/\.$/, '').replace(/\/+$/, '') || '/';
  const contents = path.endsWith('/.') || clean === '/';
  if (contents) return { dir: clean, entry: '.', contents };
  return { dir: posix.dirname(clean), entry: posix.basename(clean), contents };
}

/** Waits for a process's exit code. */
function exited(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new UserError('CP_NO_TAR', 'stack cp needs tar on the host', 'install it: apt-get install tar') : e),
    );
    child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

/** Service → host. */
async function copyOut(ctx: CommandContext, target: ExecTarget, src: string, dest: string, o: { archive: boolean; follow: boolean }): Promise<number> {
  // resolved in the service's view
  const { kind: srcKind, path: from } = await sourceOf(src, o.follow, async (path, follow) => (await probe(target, path, follow))[0], (path) => resolveInService(target, path));
  if (srcKind === 'none') throw new UserError('CP_NO_SOURCE', `no such file or folder in service "${target.service.name}": ${src}`, 'paths resolve as the service sees them (its root, its mounts)');
  if (src.endsWith('/') && srcKind !== 'dir' && srcKind !== 'link') throw new UserError('CP_NOT_A_DIR', `${src} is not a folder in service "${target.service.name}"`, 'drop the trailing /');
  const { dir, entry, contents } = archived(from);
  // The copy keeps SRC's own name, not its link target's.
  const named = archived(src).entry;
  const packing = ['tar', '-c', '-f', '-', '-C', dir, entry];
  // Each tar's output is piped in the turn its process is made: Node reads what a child wrote to
  // a pipe nobody took by the time it exits, and drops it (a small file's tar exits within a few
  // ms), and an exit nobody listened for yet is missed.
  if (dest === '-') {
    const service = await execAttached(target, packing, 'inherit', { ...AS_ROOT, pipes: true });
    service.stdout!.pipe(ctx.stdout, { end: false });
    const code = (await service.done.catch(toolMissing)).exitCode;
    if (code !== 0) throw new UserError('CP_FAILED', `stack cp: tar in service "${target.service.name}" exited with code ${code}`, 'its message is above');
    return 0;
  }
  const destKind = await hostKind(dest.replace(/\/\.?$/, '') || '/', true);
  const parentKind = await hostKind(dirname(dest.replace(/\/+$/, '')), true);
  const land = landing(srcKind === 'link' ? 'file' : srcKind, dest, destKind, parentKind);
  // A new entry is unpacked in a fresh folder beside it and renamed into place; into an existing folder, directly.
  const stage = land.rename !== undefined ? await mkdtemp(join(land.dir, '.stack-cp-')) : land.dir;
  try {
    const owners = o.archive ? ['--same-owner', '--same-permissions', '--numeric-owner'] : ['--no-same-owner'];
    const renamed = named !== entry ? ['--transform', renameTransform(entry, named)] : [];
    // The unpacking tar first (it waits for its input), then the service's, piped into it at once.
    const host = spawn('tar', ['-x', '-f', '-', '-C', stage, ...owners, ...renamed], { stdio: ['pipe', 'inherit', 'inherit'] });
    const hostDone = exited(host);
    void hostDone.catch(() => undefined); // awaited below; a tar missing is said from there
    const service = await execAttached(target, packing, 'inherit', { ...AS_ROOT, pipes: true }).catch(async (e: unknown) => {
      host.kill('SIGKILL'); // nothing will come to unpack
      await hostDone.catch(() => undefined);
      throw e;
    });
    service.stdout!.pipe(host.stdin!);
    const [serviceResult, hostCode] = await Promise.all([service.done.catch(toolMissing), hostDone]);
    if (serviceResult.exitCode !== 0) throw new UserError('CP_FAILED', `stack cp: tar in service "${target.service.name}" exited with code ${serviceResult.exitCode}`, 'its message is above');
    if (hostCode !== 0) throw new UserError('CP_FAILED', `stack cp: unpacking into ${land.dir} failed (tar exited with code ${hostCode})`, 'its message is above');
    // A folder's contents were unpacked into the stage itself: the stage becomes the destination.
    if (land.rename !== undefined) await rename(contents ? stage : join(stage, named), join(land.dir, land.rename));
  } finally {
    if (land.rename !== undefined) await rm(stage, { recursive: true, force: true });
  }
  return 0;
}

/** Host → service. */
async function copyIn(ctx: CommandContext, target: ExecTarget, src: string, dest: string, o: { archive: boolean; follow: boolean }): Promise<number> {
  const [destKindRaw, parentKind] = await probe(target, dest.replace(/\/+$/, '') || '/', true);
  const destKind = destKindRaw === 'link' ? 'file' : destKindRaw;
  const extractOwners = o.archive ? [] : ['-o'];
  let dir: string;
  /** The packing tar's arguments; none for `-` (stdin is the tar stream). */
  let packing: string[] | undefined;
  if (src === '-') {
    if (destKind !== 'dir') throw new UserError('CP_NO_DEST_DIR', `a tar stream is unpacked into a folder: ${dest} is not one in service "${target.service.name}"`, 'name an existing folder');
    dir = dest;
  } else {
    const { kind: srcKind, path } = await sourceOf(src, o.follow, hostKind, (bare) => realpath(bare).catch(() => undefined));
    if (srcKind === 'none') throw new UserError('CP_NO_SOURCE', `no such file or folder: ${src}`, 'check the host path');
    const { dir: from, entry } = archived(path);
    const land = landing(srcKind === 'link' ? 'file' : srcKind, dest, destKind, parentKind);
    dir = land.dir;
    // The copy is named as SRC (not its link target), or as the destination that replaces it.
    const name = land.rename ?? archived(src).entry;
    const transform = name !== entry ? ['--transform', renameTransform(entry, name)] : [];
    packing = ['-c', '-f', '-', '-C', from, ...transform, entry];
  }
  // The service's tar first (it waits for its input), then the packing one, piped into it in the
  // turn it is made: what a child wrote to a pipe nobody took by the time it exits is dropped by
  // Node, and its exit would be missed (a small file is packed within a few ms).
  const service = await execAttached(target, ['tar', '-x', '-f', '-', '-C', dir, ...extractOwners], 'inherit', { ...AS_ROOT, pipes: true });
  const host = packing === undefined ? undefined : spawn('tar', packing, { stdio: ['ignore', 'pipe', 'inherit'] });
  const hostDone = host ? exited(host) : Promise.resolve(0);
  (host ? host.stdout! : process.stdin).pipe(service.stdin!);
  const [result, hostCode] = await Promise.all([service.done.catch(toolMissing), hostDone]);
  if (hostCode !== 0) throw new UserError('CP_FAILED', `stack cp: packing ${src} failed (tar exited with code ${hostCode})`, 'its message is above');
  if (result.exitCode !== 0) throw new UserError('CP_FAILED', `stack cp: tar in service "${target.service.name}" exited with code ${result.exitCode}`, 'its message is above');
  return 0;
}

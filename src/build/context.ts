// The build context and what COPY and ADD (local sources) take from it: Docker's COPY rules
// (BuildKit's, the Dockerfile reference's), read from a root folder (the context, with its
// .dockerignore rules, or a stage's or image's folder for --from) and written into a fresh
// layer folder in overlayfs format, which layer-digest.ts then turns into a tar.
//
// Reading. Sources are relative to the root: a leading `/` is the root, a `..` that would
// climb above it is refused. A source's path is resolved through symlinks inside the root only
// (an absolute link target is read from the root, as BuildKit resolves it; one that climbs
// above the root is refused), then what it names is copied with the symlinks inside it copied
// as symlinks, never followed. Every path is walked with lstat from the root and every file is
// opened with O_NOFOLLOW and checked to be the file the walk found, so nothing outside the root
// is ever read, provided nothing rewrites the root while the copy runs (the context is the
// user's folder, a stage's or image's folder is not written during a build).
//
// Writing. The layer folder is fresh and written by this copy alone: folders are made with
// mkdir, files with O_CREAT|O_EXCL|O_NOFOLLOW, symlinks with symlink(2), owners, modes and times
// set through a descriptor opened with O_NOFOLLOW or with the l* calls; every folder on the way
// is one this copy made, so none can be a symlink (the argument of image/unpack.ts).
//
// Docker's rules kept (BuildKit's where it and the classic builder differ, except as noted):
// - a folder source copies its content into the destination; a file goes to dest/<its name>
//   when dest ends with `/` or is a folder (in the image or made by an earlier source of the
//   same COPY), else to dest itself;
// - several sources (or a glob that matched several) need a dest ending with `/` (the
//   classic builder's rule; BuildKit silently lets each one overwrite the last);
// - globs are Go's filepath.Match (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes), matched component
//   by component against the root's paths, symlinks not followed while matching; a match that
//   is a symlink is then followed as a plain source is; a glob that matches nothing is not an
//   error (BuildKit's `COPY yarn.lock* ./` idiom) unless no source of the COPY matched anything
//   (the classic builder's "no source files were specified");
// - .dockerignore'd paths are invisible, inside copied folders too; a `!` rule re-includes a
//   path inside an excluded folder, which is then made (with its own metadata) to hold it;
// - `--exclude` patterns use the same matcher, against paths relative to each copied source
//   folder (BuildKit's), and against a glob's file matches relative to the glob's fixed part;
// - copied entries keep their mode (or get `--chmod`, folders too, as BuildKit), their times,
//   their security.capability xattr, and are owned by `--chown`, else 0:0 (from the context)
//   or their own owner (`keepOwners`, for --from, as BuildKit keeps a stage's owners);
// - folders this copy creates on the way (parents of dest, dest itself) get `--chmod` or 0755
//   and the `--chown` owner or 0:0 (BuildKit's MkdirAll); a folder source's destination gets
//   the source folder's modification time; folders inside a copied folder get the source's
//   metadata even where the image has them already;
// - a folder that exists in the image below is written into the layer with the mode and owner
//   `existing` reports for it (or 0755 and 0:0 when it only says 'dir');
// - a folder onto a file, or a file onto a folder, is an error, as in Docker.
// Left out: hardlinks among the copied files become separate files; device nodes, FIFOs and
// sockets are skipped (noted); ADD's archive unpacking and URLs are the caller's.
import { createHash, type Hash } from 'node:crypto';
import * as fsSync from 'node:fs';
import { constants as C, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { compileIgnorePatterns, dockerignorePatterns } from '../sys/dockerignore.js';
import { basename, join, posix, resolve } from 'node:path';
import { KernelError, UserError } from '../errors.js';
import { lgetxattr, lsetxattr } from '../sys/xattr.js';
import { chunksOf, copyChunks } from '../sys/file-chunks.js';

/** The build context: its folder and its .dockerignore rules. */
export interface BuildContext {
  /** Absolute context folder. */
  readonly dir: string;
  /** True when `rel` (relative to the context, '/'-separated, no leading './') is excluded by the .dockerignore rules. */
  readonly excluded: (rel: string) => boolean;
  /** False when no `!` rule can re-include anything under the excluded folder `rel` (a walk may skip it). */
  readonly mayReinclude: (rel: string) => boolean;
  /** The ignore file the rules came from, or undefined when there was none. */
  readonly ignoreFile: string | undefined;
  /** How messages name the root: `the build context <dir>`. */
  readonly label: string;
}

/** What a copy reads from: a build context, or a plain folder (a stage's or image's, for --from). */
export interface CopyRoot {
  readonly dir: string;
  /** Paths the root does not show (.dockerignore); none when absent. */
  readonly excluded?: (rel: string) => boolean;
  /** See BuildContext.mayReinclude; when absent, an excluded folder is always searched for re-included paths. */
  readonly mayReinclude?: (rel: string) => boolean;
  /** Copied entries keep their owners when no --chown is given (COPY --from, as BuildKit); else they are 0:0. */
  readonly keepOwners?: boolean;
  /** How messages name the root (default: the folder). */
  readonly label?: string;
}

export interface CopyRequest {
  /** As written after variable expansion, relative to the root; may contain globs (Go's filepath.Match). */
  readonly sources: readonly string[];
  /** Absolute in the image (the caller resolved WORKDIR and the image's symlinks); a trailing '/' means "into this folder". */
  readonly dest: string;
  /** --chown resolved by the caller; default 0:0 (or the sources' owners with keepOwners). */
  readonly owner?: { uid: number; gid: number };
  /** --chmod, octal parsed by the caller. */
  readonly mode?: number;
  /** --exclude patterns. */
  readonly exclude?: readonly string[];
}

/** A folder of the image below, with what the layer must repeat of it when the copy writes into it. */
export interface ImageDir {
  readonly kind: 'dir';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * What the image below has at an absolute path, not following a symlink in its last component
 * (a symlink is 'file'): 'dir' or an ImageDir for a folder (the ImageDir's mode and owner are
 * repeated in the layer for a folder the copy writes into; plain 'dir' gives 0755 and 0:0).
 */
export type ExistingLookup = (absPath: string) => 'dir' | 'file' | ImageDir | undefined;

/** What a copy wrote: files and symlinks, and what it left out (one line each). */
export interface CopyResult {
  readonly files: number;
  readonly skipped: string[];
}

const MAX_SYMLINKS = 40;
const CAPABILITY_XATTR = 'security.capability';

/** A compiled pattern list (.dockerignore or --exclude). */
interface PatternSet {
  excluded(rel: string): boolean;
  mayReinclude(rel: string): boolean;
}

/** Compiles `patterns` with Docker's case-sensitive matcher; a bad one is a UserError naming `where`. */
function patternSet(patterns: readonly string[], where: string, code: string): PatternSet {
  const m = compileIgnorePatterns(patterns, (pattern, why) => {
    throw new UserError(code, `the pattern ${JSON.stringify(pattern)} in ${where} does not parse (${why})`,
      'patterns follow .dockerignore syntax: *, ?, [a-z], ** and a leading ! to re-include');
  });
  // A `!` pattern may re-include something inside an excluded folder: such a folder is searched
  // only when the pattern's literal start could lie in it.
  const literals = patterns
    .filter((p) => p.startsWith('!'))
    .map((p) => /^[^*?[\\]*/.exec(p.slice(1).trim().replace(/^\/+/, ''))![0]);
  return {
    excluded: (rel) => rel !== '' && m.ignores(rel),
    mayReinclude: (rel) => literals.some((l) => l.startsWith(`${rel}/`) || `${rel}/`.startsWith(l)),
  };
}

/**
 * Opens the build context `dir` for the Dockerfile at `dockerfile` (absolute): its rules are
 * `<dockerfile>.dockerignore` when that exists, else `<dir>/.dockerignore` (BuildKit's order).
 * The Dockerfile and the ignore file are read by the builder whatever the rules say, and COPY
 * sees them only if the rules do not exclude them (as Docker).
 */
export async function openContext(dir: string, dockerfile: string): Promise<BuildContext> {
  const abs = resolve(dir);
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UserError('BUILD_CONTEXT_MISSING', `the build context ${abs} is not a folder`, 'set `build.context` to a folder that exists (relative to the compose file)');
  }
  let ignoreFile: string | undefined;
  let text = '';
  for (const candidate of [`${resolve(dockerfile)}.dockerignore`, join(abs, '.dockerignore')]) {
    try {
      text = await fs.readFile(candidate, 'utf8');
      ignoreFile = candidate;
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new UserError('DOCKERIGNORE_UNREADABLE', `cannot read ${candidate}: ${code ?? String(e)}`, 'make the ignore file readable, or remove it');
    }
  }
  const set = patternSet(ignoreFile ? dockerignorePatterns(text) : [], ignoreFile ?? '.dockerignore', 'DOCKERIGNORE_BAD_PATTERN');
  return { dir: abs, excluded: set.excluded, mayReinclude: set.mayReinclude, ignoreFile, label: `the build context ${abs}` };
}

// ---------------------------------------------------------------------------------------------
// Go's filepath.Match

const WILDCARD = /^(?:[^\\*?[]|\\.)*(?:\\)?$/s;

/** True when a path component has an unescaped `*`, `?` or `[`. */
function hasWildcard(component: string): boolean {
  return !WILDCARD.test(component);
}

/** A RegExp for Go's filepath.Match `pattern` (whole path, `/`-separated), or why it is malformed. */
function goPattern(pattern: string): RegExp | string {
  const cps = Array.from(pattern);
  const lit = (ch: string): string => `\\u{${ch.codePointAt(0)!.toString(16)}}`;
  let re = '^';
  let i = 0;
  /** One character of a class: `\x` escapes; an unescaped `-` or `]` cannot start one (Go). */
  const classChar = (): string | undefined => {
    let ch = cps[i];
    if (ch === undefined || ch === '-' || ch === ']') return undefined;
    if (ch === '\\') {
      i++;
      ch = cps[i];
      if (ch === undefined) return undefined;
    }
    i++;
    return ch;
  };
  while (i < cps.length) {
    const ch = cps[i]!;
    if (ch === '*') {
      re += '[^/]*';
      i++;
    } else if (ch === '?') {
      re += '[^/]';
      i++;
    } else if (ch === '\\') {
      const next = cps[i + 1];
      if (next === undefined) return 'it ends with a lone \\';
      re += lit(next);
      i += 2;
    } else if (ch === '[') {
      i++;
      let negated = false;
      if (cps[i] === '^') {
        negated = true;
        i++;
      }
      let items = '';
      let count = 0;
      for (;;) {
        if (cps[i] === ']' && count > 0) {
          i++;
          break;
        }
        const lo = classChar();
        if (lo === undefined) return 'a character class is empty, unclosed or malformed';
        let hi = lo;
        if (cps[i] === '-') {
          i++;
          const h = classChar();
          if (h === undefined) return 'a character range is malformed';
          hi = h;
        }
        // Go accepts a range whose ends are reversed; it matches nothing.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) items += lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`;
        count++;
      }
      re += negated ? `(?!/)[^${items}]` : `[${items}]`;
    } else {
      re += lit(ch);
      i++;
    }
  }
  return new RegExp(`${re}$`, 'su');
}

// ---------------------------------------------------------------------------------------------
// What a COPY takes

type Kind = 'dir' | 'file' | 'symlink' | 'other';

/** One entry to copy, with (folders) the visible entries it holds. */
interface Entry {
  /** Its name in its folder; for a source, the name a file source takes in a destination folder. */
  readonly name: string;
  /** Host path and path relative to the root. */
  readonly abs: string;
  readonly rel: string;
  readonly st: Stats;
  readonly kind: Kind;
  readonly children: Entry[];
  readonly linkTarget?: string;
  readonly capability?: Buffer;
}

/** A resolved COPY: each source's entry, in order, and lines for what was left out. */
interface Plan {
  readonly entries: Entry[];
  readonly skipped: string[];
}

function kindOf(st: Stats): Kind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function describeKind(st: Stats): string {
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'entry of unknown type';
}

function lstatOrNone(path: string): Stats | undefined {
  try {
    return fsSync.lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function errnoOf(e: unknown): string {
  if (e instanceof KernelError) return e.errno;
  return (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);
}

/** security.capability of the file `path`, or undefined (none, or a file system without xattrs). */
function capabilityOf(path: string): Buffer | undefined {
  try {
    return lgetxattr(path, CAPABILITY_XATTR);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'EOPNOTSUPP' || errno === 'ENOTSUP' || errno === 'ENODATA') return undefined;
    throw e;
  }
}

const relJoin = (a: string, b: string): string => (a === '' ? b : `${a}/${b}`);

/** Resolves one COPY's sources against one root (see the file comment). */
class Resolver {
  readonly skipped: string[] = [];
  private readonly label: string;
  private readonly exclude: PatternSet | undefined;

  constructor(
    private readonly root: CopyRoot,
    request: CopyRequest,
  ) {
    this.label = root.label ?? root.dir;
    this.exclude = request.exclude?.length ? patternSet(request.exclude, '--exclude', 'COPY_BAD_PATTERN') : undefined;
  }

  private ignored(rel: string): boolean {
    return rel !== '' && (this.root.excluded?.(rel) ?? false);
  }

  private outside(written: string, why: string): UserError {
    return new UserError('COPY_OUTSIDE_CONTEXT', `COPY source "${written}" is outside ${this.label}: ${why}`,
      'sources are read from inside the context (or the --from root) only; move the file in, or choose a larger context folder');
  }

  missing(written: string, why = 'not found'): UserError {
    return new UserError('COPY_SOURCE_MISSING', `COPY source "${written}": ${why} in ${this.label}`,
      'the path is relative to the context root (or the --from root); check its spelling and that .dockerignore does not exclude it');
  }

  /** The components of `written`, cleaned as a path from the root; a `..` above it is refused. */
  components(written: string): string[] {
    const out: string[] = [];
    for (const c of written.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (out.length === 0) throw this.outside(written, 'it climbs above the root with ".."');
        out.pop();
      } else out.push(c);
    }
    return out;
  }

  /**
   * Walks `components` from the root with lstat, following symlinks inside the root (the last
   * one too when `followLast`); the path found, or why there is none.
   */
  resolve(components: readonly string[], written: string, followLast: boolean): { rel: string; st: Stats } | { why: string } {
    const statAt = (parts: readonly string[]): Stats | undefined =>
      parts.length === 0 ? fsSync.statSync(this.root.dir, { throwIfNoEntry: false }) : lstatOrNone(join(this.root.dir, ...parts)); // the root itself may be reached through a symlink
    const stack: string[] = [];
    const todo = [...components];
    let links = 0;
    let via = '';
    if (!statAt(stack)?.isDirectory()) return { why: 'the root is not a folder' };
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) throw this.outside(written, `the symlink "${via}" on its path points above the root`);
        stack.pop();
        continue;
      }
      const rel = [...stack, c].join('/');
      const st = lstatOrNone(join(this.root.dir, rel));
      if (!st) return { why: 'not found' };
      if (st.isSymbolicLink() && (todo.length > 0 || followLast)) {
        if (this.ignored(rel)) return { why: `the symlink "${rel}" on its path is excluded by .dockerignore` };
        if (++links > MAX_SYMLINKS) {
          throw new UserError('COPY_SYMLINK_LOOP', `COPY source "${written}": too many symlinks on its path in ${this.label}`, 'a symlink on the path points back to itself; fix the link');
        }
        const target = fsSync.readlinkSync(join(this.root.dir, rel), 'utf8');
        via = rel;
        if (target.startsWith('/')) stack.length = 0; // read inside the root, as BuildKit does
        todo.unshift(...target.split('/'));
        continue;
      }
      if (todo.length > 0 && !st.isDirectory()) return { why: `"${rel}" is not a folder` };
      stack.push(c);
    }
    const st = statAt(stack);
    if (!st) return { why: 'not found' };
    return { rel: stack.join('/'), st };
  }

  /**
   * The entry at `rel` (lstat `st`) with its visible content; undefined when it is hidden and
   * shows nothing (a hidden folder shows what a `!` rule re-includes in it).
   * `inSource` is the path relative to the source being copied, for --exclude.
   */
  entry(name: string, rel: string, st: Stats, inSource: string, hidden: boolean): Entry | undefined {
    const abs = join(this.root.dir, rel);
    const kind = kindOf(st);
    if (kind !== 'dir') {
      if (hidden) return undefined;
      if (kind === 'other') {
        this.skipped.push(`${rel}: ${describeKind(st)} skipped (COPY copies files, folders and symlinks)`);
        return undefined;
      }
      if (kind === 'symlink') return { name, abs, rel, st, kind, children: [], linkTarget: fsSync.readlinkSync(abs, 'utf8') };
      const capability = capabilityOf(abs);
      return { name, abs, rel, st, kind, children: [], ...(capability ? { capability } : {}) };
    }
    const children: Entry[] = [];
    for (const raw of fsSync.readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const n = raw.toString('utf8');
      const childRel = relJoin(rel, n);
      if (!Buffer.from(n, 'utf8').equals(raw)) {
        this.skipped.push(`${childRel}: skipped (its name is not UTF-8)`);
        continue;
      }
      const childIn = relJoin(inSource, n);
      const ignoredHere = this.ignored(childRel);
      const excludedHere = this.exclude?.excluded(childIn) ?? false;
      const cst = fsSync.lstatSync(join(abs, n));
      let childHidden = false;
      if (ignoredHere || excludedHere) {
        if (!cst.isDirectory()) continue;
        const mayIgnore = !ignoredHere || (this.root.mayReinclude?.(childRel) ?? true);
        const mayExclude = !excludedHere || this.exclude!.mayReinclude(childIn);
        if (!mayIgnore || !mayExclude) continue;
        childHidden = true;
      }
      const child = this.entry(n, childRel, cst, childIn, childHidden);
      if (child) children.push(child);
    }
    if (hidden && children.length === 0) return undefined;
    return { name, abs, rel, st, kind, children };
  }

  /** The entry a plain (glob-free) source names, symlinks on its path followed. */
  plain(written: string, components: string[]): Entry {
    const found = this.resolve(components, written, true);
    if ('why' in found) throw this.missing(written, found.why);
    const hidden = this.ignored(found.rel);
    const name = components.length > 0 ? components[components.length - 1]! : basename(this.root.dir);
    const e = this.entry(name, found.rel, found.st, '', hidden);
    if (!e) {
      if (hidden) throw this.missing(written, 'excluded by .dockerignore');
      throw this.missing(written, `it is a ${describeKind(found.st)}, which COPY does not copy`);
    }
    return e;
  }

  /** The entries a glob source matches (in byte order), and how many there were before --exclude dropped files. */
  glob(written: string, components: string[]): { entries: Entry[]; matched: number } {
    const at = components.findIndex(hasWildcard);
    const fixed = components.slice(0, at);
    const pattern = components.slice(at);
    const re = goPattern(pattern.join('/'));
    if (typeof re === 'string') {
      throw new UserError('COPY_BAD_PATTERN', `COPY source "${written}" is not a valid pattern: ${re}`, 'globs follow Go\'s filepath.Match: *, ?, [a-z], [^a], and \\ to escape');
    }
    const base = this.resolve(fixed, written, true);
    if ('why' in base || !base.st.isDirectory()) return { entries: [], matched: 0 };
    const entries: Entry[] = [];
    let matched = 0;
    const walk = (rel: string, inBase: string, depth: number): void => {
      for (const raw of fsSync.readdirSync(join(this.root.dir, rel), { encoding: 'buffer' }).sort(Buffer.compare)) {
        const n = raw.toString('utf8');
        if (!Buffer.from(n, 'utf8').equals(raw)) continue;
        const childRel = relJoin(rel, n);
        const childIn = relJoin(inBase, n);
        const st = fsSync.lstatSync(join(this.root.dir, childRel));
        const hidden = this.ignored(childRel);
        if (depth + 1 < pattern.length) {
          // Only a real folder is searched (a glob does not follow symlinks), and a hidden one only if a `!` rule may show something in it.
          if (st.isDirectory() && (!hidden || (this.root.mayReinclude?.(childRel) ?? true))) walk(childRel, childIn, depth + 1);
          continue;
        }
        if (!re.test(childIn)) continue;
        if (hidden && !st.isDirectory()) continue;
        const e = this.matchEntry(written, n, childRel, st, hidden);
        if (!e) continue;
        matched++;
        if (e.kind !== 'dir' && this.exclude?.excluded(childIn)) continue;
        entries.push(e);
      }
    };
    walk(base.rel, '', 0);
    return { entries, matched };
  }

  /** A glob's match: itself, or (a symlink) what it points to inside the root, named as the link. */
  private matchEntry(written: string, name: string, rel: string, st: Stats, hidden: boolean): Entry | undefined {
    if (!st.isSymbolicLink()) return this.entry(name, rel, st, '', hidden);
    const found = this.resolve(rel.split('/'), written, true);
    if ('why' in found) throw this.missing(written, `its match "${rel}" is a symlink: ${found.why}`);
    return this.entry(name, found.rel, found.st, '', this.ignored(found.rel));
  }
}

function destIsFolder(dest: string): boolean {
  return dest.endsWith('/') || dest.endsWith('/.') || posix.normalize(dest) === '/';
}

/** What the glob source `written` matches in `root` (paths relative to it, in byte order): ADD looks at each for an archive to unpack. */
export function globMatches(root: CopyRoot, written: string): string[] {
  const r = new Resolver(root, { sources: [written], dest: '/' });
  return r.glob(written, r.components(written)).entries.map((e) => e.rel);
}

/** Resolves `request` against `root`: the entries to copy, or a UserError. */
function plan(root: CopyRoot, request: CopyRequest): Plan {
  const r = new Resolver(root, request);
  if (request.sources.length === 0) throw new UserError('COPY_SOURCE_MISSING', `COPY from ${root.label ?? root.dir}: no source files were specified`, 'name at least one source before the destination');
  const entries: Entry[] = [];
  let matched = 0;
  for (const written of request.sources) {
    const components = r.components(written);
    if (components.some(hasWildcard)) {
      const g = r.glob(written, components);
      entries.push(...g.entries);
      matched += g.matched;
    } else {
      entries.push(r.plain(written, components));
      matched++;
    }
  }
  if (matched === 0) {
    throw r.missing(request.sources.join('", "'), 'no source files were specified (nothing matches)');
  }
  if (matched > 1 && !destIsFolder(request.dest)) {
    throw new UserError('COPY_DEST_NOT_DIR', `COPY of several sources ("${request.sources.join('", "')}", ${matched} matches in ${root.label ?? root.dir}) into "${request.dest}": the destination must be a folder ending with "/"`,
      `write the destination as "${request.dest.replace(/\/*$/, '')}/"`);
  }
  return { entries, skipped: r.skipped };
}

// ---------------------------------------------------------------------------------------------
// Writing the layer

/** What the layer and the image below show at a path during the copy. */
type Seen = { kind: 'dir'; info?: ImageDir } | { kind: 'file' } | undefined;

/** Opens `path` (a file the walk found at `st`) for reading, refusing anything else. */
async function openSource(path: string, st: Stats, rel: string): Promise<fs.FileHandle> {
  const fh = await fs.open(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
  const ist = await fh.stat();
  if (!ist.isFile() || ist.ino !== st.ino || ist.dev !== st.dev) {
    await fh.close();
    throw new UserError('COPY_SOURCE_CHANGED', `COPY source file "${rel}" changed while it was copied`, 'nothing may write the context while a build reads it; build again');
  }
  return fh;
}

/** Writes a plan into a fresh layer folder. */
class LayerWriter {
  files = 0;
  /** Paths (absolute in the image) this copy made in the layer, and what. */
  private readonly made = new Map<string, 'dir' | 'file'>();
  private readonly image = new Map<string, Seen>();
  /** Folder times to set last (writing into a folder changes its mtime), by layer path. */
  private readonly dirTimes = new Map<string, Stats>();
  private readonly createdMode: number;
  private readonly createdOwner: { uid: number; gid: number };

  constructor(
    private readonly layerDir: string,
    private readonly root: CopyRoot,
    private readonly request: CopyRequest,
    private readonly existing: ExistingLookup,
  ) {
    this.createdMode = request.mode !== undefined ? request.mode & 0o7777 : 0o755;
    this.createdOwner = request.owner ?? { uid: 0, gid: 0 };
  }

  private host(p: string): string {
    return join(this.layerDir, p);
  }

  /** What the image below has at `p` (cached; nothing under a path it lacks or has as a file). */
  private below(p: string): Seen {
    if (this.image.has(p)) return this.image.get(p);
    const parent = posix.dirname(p);
    let seen: Seen;
    if (parent !== '/' && this.below(parent)?.kind !== 'dir') seen = undefined;
    else {
      const e = this.existing(p);
      seen = e === undefined ? undefined : e === 'file' ? { kind: 'file' } : e === 'dir' ? { kind: 'dir' } : { kind: 'dir', info: e };
    }
    this.image.set(p, seen);
    return seen;
  }

  /** What the merged view (this layer over the image) has at `p`. */
  at(p: string): Seen {
    const m = this.made.get(p);
    if (m === 'dir') return { kind: 'dir' };
    if (m === 'file') return { kind: 'file' };
    return this.below(p);
  }

  private notDir(p: string, why: string): UserError {
    return new UserError('COPY_DEST_NOT_DIR', `COPY into "${this.request.dest}": "${p}" ${why}, not a folder`,
      'choose a destination whose folders are folders in the image (a symlink counts as a file: give its target)');
  }

  private conflict(p: string, why: string): UserError {
    return new UserError('COPY_DEST_CONFLICT', `COPY into "${this.request.dest}": ${why} at "${p}"`, 'Docker refuses to replace a folder with a file or a file with a folder; remove it in an earlier step or copy elsewhere');
  }

  /** Sets owner and mode of the folder `p` in the layer (through an O_NOFOLLOW descriptor). */
  private dirMeta(p: string, uid: number, gid: number, mode: number): void {
    const fd = fsSync.openSync(this.host(p), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      fsSync.fchownSync(fd, uid, gid);
      fsSync.fchmodSync(fd, mode & 0o7777); // after chown, which clears set-id bits
    } finally {
      fsSync.closeSync(fd);
    }
  }

  /** Makes folder `p` in the layer; `fresh` metadata unless the image has it (its own, repeated). */
  private mkdir(p: string): void {
    fsSync.mkdirSync(this.host(p), 0o700);
    this.made.set(p, 'dir');
    const below = this.below(p);
    if (below?.kind === 'dir') {
      const info = below.info;
      this.dirMeta(p, info?.uid ?? 0, info?.gid ?? 0, info?.mode ?? 0o755);
    } else this.dirMeta(p, this.createdOwner.uid, this.createdOwner.gid, this.createdMode);
  }

  /** Makes sure folder `p` (absolute, in the image) and its parents are folders in the layer. */
  ensureDir(p: string): void {
    let cur = '';
    for (const c of p.split('/').filter((x) => x !== '')) {
      cur = `${cur}/${c}`;
      const seen = this.at(cur);
      if (seen?.kind === 'file') throw this.notDir(cur, this.made.has(cur) ? 'is a file an earlier source of this COPY wrote' : 'is a file in the image');
      if (this.made.get(cur) === 'dir') continue;
      this.mkdir(cur);
    }
  }

  private owner(st: Stats): { uid: number; gid: number } {
    if (this.request.owner) return this.request.owner;
    return this.root.keepOwners ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 };
  }

  private mode(st: Stats): number {
    return this.request.mode !== undefined ? this.request.mode & 0o7777 : st.mode & 0o7777;
  }

  /** Copies the content of the folder entry `e` into the folder `p` (made if needed). */
  async contents(e: Entry, p: string): Promise<void> {
    if (p !== '/') {
      this.ensureDir(posix.dirname(p));
      const seen = this.at(p);
      if (seen?.kind === 'file') throw this.conflict(p, `cannot copy the folder "${e.rel || '.'}" onto a file`);
      if (this.made.get(p) !== 'dir') this.mkdir(p);
      this.dirTimes.set(p, e.st);
    }
    for (const child of e.children) await this.copy(child, p === '/' ? `/${child.name}` : `${p}/${child.name}`);
  }

  /** Copies entry `e` to `p`, whose folder exists in the layer. */
  async copy(e: Entry, p: string): Promise<void> {
    const seen = this.at(p);
    const host = this.host(p);
    const owner = this.owner(e.st);
    if (e.kind === 'dir') {
      if (seen?.kind === 'file') throw this.conflict(p, `cannot copy the folder "${e.rel}" onto a file`);
      if (this.made.get(p) !== 'dir') {
        fsSync.mkdirSync(host, 0o700);
        this.made.set(p, 'dir');
      }
      this.dirMeta(p, owner.uid, owner.gid, this.mode(e.st));
      this.dirTimes.set(p, e.st);
      for (const child of e.children) await this.copy(child, `${p}/${child.name}`);
      return;
    }
    if (seen?.kind === 'dir') throw this.conflict(p, `cannot replace a folder with the ${e.kind} "${e.rel}"`);
    if (this.made.get(p) === 'file') fsSync.unlinkSync(host); // a later source replaces an earlier one
    if (e.kind === 'symlink') {
      fsSync.symlinkSync(e.linkTarget!, host);
      fsSync.lchownSync(host, owner.uid, owner.gid);
      fsSync.lutimesSync(host, e.st.atime, e.st.mtime);
    } else {
      await this.file(e, host, owner);
    }
    this.made.set(p, 'file');
    this.files++;
  }

  private async file(e: Entry, host: string, owner: { uid: number; gid: number }): Promise<void> {
    const input = await openSource(e.abs, e.st, e.rel);
    try {
      const out = await fs.open(host, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        await copyChunks(input, out);
        await out.chown(owner.uid, owner.gid);
        await out.chmod(this.mode(e.st)); // after chown, which clears set-id bits
        if (e.capability) lsetxattr(host, CAPABILITY_XATTR, e.capability); // after chown, which clears it
        await out.utimes(e.st.atime, e.st.mtime);
      } finally {
        await out.close();
      }
    } finally {
      await input.close();
    }
  }

  /** Sets the folders' times, last. */
  close(): void {
    for (const [p, st] of this.dirTimes) fsSync.lutimesSync(this.host(p), st.atime, st.mtime);
  }
}

/**
 * Copies what `request` names in `root` into `layerDir` (an existing empty folder that becomes
 * the layer) with Docker's COPY rules (see the file comment). `existing` tells what the image
 * below has at a path. Throws a UserError: COPY_SOURCE_MISSING, COPY_OUTSIDE_CONTEXT,
 * COPY_DEST_NOT_DIR, COPY_DEST_CONFLICT, COPY_BAD_PATTERN, COPY_SYMLINK_LOOP, COPY_SOURCE_CHANGED.
 */
export async function copyInto(root: CopyRoot, request: CopyRequest, layerDir: string, existing: ExistingLookup): Promise<CopyResult> {
  if (!request.dest.startsWith('/')) {
    throw new UserError('COPY_DEST_RELATIVE', `COPY destination "${request.dest}" is not absolute`, 'resolve it against the stage\'s WORKDIR first');
  }
  const lst = fsSync.lstatSync(layerDir);
  if (!lst.isDirectory() || fsSync.readdirSync(layerDir).length > 0) {
    throw new UserError('COPY_LAYER_DIR', `cannot copy into ${layerDir}: it must be an empty folder (not a symlink)`, 'give each COPY a fresh layer folder');
  }
  const p = plan(root, request);
  const w = new LayerWriter(layerDir, root, request, existing);
  const dest = posix.normalize(request.dest);
  const intoFolder = destIsFolder(request.dest);
  const destPath = dest.length > 1 ? dest.replace(/\/+$/, '') : '/';
  const under = (name: string): string => (destPath === '/' ? `/${name}` : `${destPath}/${name}`);
  if (intoFolder) w.ensureDir(destPath);
  else w.ensureDir(posix.dirname(destPath));
  for (const e of p.entries) {
    if (e.kind === 'dir') {
      await w.contents(e, destPath);
      continue;
    }
    if (intoFolder) {
      await w.copy(e, under(e.name));
      continue;
    }
    if (w.at(destPath)?.kind === 'dir') {
      w.ensureDir(destPath);
      await w.copy(e, under(e.name));
    } else await w.copy(e, destPath);
  }
  w.close();
  return { files: w.files, skipped: p.skipped };
}

/** Feeds `fields` to `hash` as one unambiguous record. */
function record(hash: Hash, fields: readonly (string | number)[]): void {
  hash.update(`${JSON.stringify(fields)}\n`);
}

/** The sha256 of a regular file's content (the file the walk found, checked). */
async function contentDigest(e: Entry): Promise<string> {
  const h = createHash('sha256');
  const fh = await openSource(e.abs, e.st, e.rel);
  try {
    for await (const chunk of chunksOf(fh)) h.update(chunk);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/**
 * A sha256 (`sha256:<hex>`) over what a COPY would take and how it writes it, for the build
 * cache key: the request's destination, owner and mode, and for each source entry in order
 * its name, and each path inside it (relative, in byte order) with its type, mode, size,
 * content digest, symlink target and security.capability (owners too with keepOwners).
 * Modification times are not in it (as BuildKit's content hash: a file only touched still hits
 * the cache). Excluded paths are not read. Throws what copyInto throws for the sources.
 */
export async function copySourceDigest(root: CopyRoot, request: CopyRequest): Promise<string> {
  const p = plan(root, request);
  const h = createHash('sha256');
  const keepOwners = !request.owner && root.keepOwners === true;
  record(h, ['copy', request.dest, request.owner ? `${request.owner.uid}:${request.owner.gid}` : keepOwners ? 'keep' : '0:0', request.mode ?? -1]);
  const walk = async (e: Entry, path: string): Promise<void> => {
    const fields: (string | number)[] = [path, e.kind, e.st.mode & 0o7777];
    if (keepOwners) fields.push(e.st.uid, e.st.gid);
    if (e.kind === 'file') fields.push(e.st.size, await contentDigest(e), e.capability?.toString('hex') ?? '');
    if (e.kind === 'symlink') fields.push(e.linkTarget!);
    record(h, fields);
    for (const c of e.children) await walk(c, path === '' ? c.name : `${path}/${c.name}`);
  };
  for (const e of p.entries) {
    record(h, ['source', e.kind === 'dir' ? '' : e.name]);
    await walk(e, '');
  }
  return `sha256:${h.digest('hex')}`;
}

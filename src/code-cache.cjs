// V8's code cache for the bundle's CommonJS files (scripts/bundle.mjs copies this file into
// dist/bundle/ and makes every entry require it first). Node 20 compiles a CommonJS module from
// its source on every run (its compile cache, NODE_COMPILE_CACHE, came in Node 22.1): yaml and
// zod alone were ~40 ms of compiling in a fresh `up`. Here a module of the bundle is compiled with
// the code V8 made for it in an earlier run, kept as a file:
//   <STACK_CACHE or /var/cache/stack>/code/<folder>-<file>.<inode>-<mtime ns>-<size>.<node, flags>
// The name holds what V8 does not check itself: V8 accepts cached code for any source of the
// same length, so the file's identity (a rebuild writes a new file: another inode and mtime)
// is in the name; a cache V8 rejects (another V8, other flags) is made anew, and the files of a
// file's older versions are removed when a new one is written. The code of a
// module is written once, when the process exits or 3 s after the module loaded, whichever
// comes first, and holds every function the run had compiled by then; a run that fails (exits
// non-zero) writes none at its exit: one cut short by a bad spec or option ran a sliver of the
// code it loaded, and what it kept would have every later run compile the rest (an `up -d`
// whose pack was first kept by a failed `up`: 53 KB of code instead of 385, ~15 ms a run).
// A chunk that a loaded pack holds (pack.<chunk>.cjs, loadPack below) runs from it, and a pack
// is one file with one cache.
// Kept code holds the functions of the runs that made it, and a pack serves several commands: the
// kernel pack kept by an `up` lacked 159 functions a `down` then compiled on every run (the
// main thread's CPU in a `down` of 5: 95.0 -> 91.8 ms once kept again, bench-ab, 20 rounds). So
// each kept file names the uses (the CLI's commands, told by use()) whose runs made it, on a
// first line `stack-code <use>,<use>\n` before V8's data, and a run of another use that ends
// well writes it again at its end: V8's code for a script compiled from kept code holds the kept
// functions and those this run compiled besides. A file is written at most once per use, and
// holds what its uses' runs ran (but what V8 flushed meanwhile: it drops the bytecode of
// functions not run for several full collections).
// Nothing here may fail a command: a cache or a pack that cannot be read or written only costs
// compiling, or reading the chunks' own files.
'use strict';
const Module = require('node:module');
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');

/** Modules compiled through the hook with a place for their code: { script, where, uses } (uses: of the kept code it ran from; none when it had none V8 took). */
const pending = [];
/** What this run is for (use()); a module whose kept code no run of it made is kept again. */
let current;
/** The first line of a kept file, before V8's data (which begins with a magic number, never with this). */
const HEADER = 'stack-code ';
let dir;
/** The bundle folder install() was given. */
let bundle;
let timer;
/** What this process compiled through the hook (tests): modules, of them from kept code, kept code V8 refused; modules run from a pack. */
const counts = { compiled: 0, cached: 0, rejected: 0, packed: 0 };
/** The code of modules of loaded packs not run yet: chunk file name → the function of its code. */
const packed = new Map();

function cacheDir() {
  const root = process.env.STACK_CACHE !== undefined && process.env.STACK_CACHE !== '' ? process.env.STACK_CACHE : '/var/cache/stack';
  return path.join(root, 'code');
}

/** FNV-1a, twice (two offsets): 64 bits naming a set of flags, without loading node:crypto (~8 ms). */
function fnv(text) {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** What the cached code of a file depends on besides its source: this node and its flags (NODE_OPTIONS too). */
const runtime = `${process.version}-${process.arch}-${fnv([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\0'))}`;

/** Kept files at most; beyond, the oldest go (checkouts come and go, each with its own files). */
const MAX_FILES = 2000;
/** This bundle folder's mark on its kept files (bundle folders of several checkouts share the cache). */
let folder;

/** <folder>-<file>.<inode>-<mtime ns>-<size>: the name of a version of a file (undefined when it is gone). */
function version(filename) {
  const s = fs.statSync(filename, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? undefined : `${folder}-${path.basename(filename)}.${s.ino}-${s.mtimeNs}-${s.size}`;
}

function cachePath(filename) {
  const v = version(filename);
  return v === undefined ? undefined : path.join(dir, `${v}.${runtime}`);
}

/** Removes the kept code of this folder's files that changed or went (a rebuild), and the oldest beyond MAX_FILES. */
function prune(bundleDir) {
  const names = fs.readdirSync(dir);
  const current = new Map();
  for (const name of names) {
    const m = /^([0-9a-f]{16})-(.+?\.c?js)\.(\d+-\d+-\d+)\./.exec(name);
    if (m === null || m[1] !== folder) continue;
    if (!current.has(m[2])) current.set(m[2], version(path.join(bundleDir, m[2])));
    if (current.get(m[2]) !== `${folder}-${m[2]}.${m[3]}`) fs.rmSync(path.join(dir, name), { force: true });
  }
  const left = fs.readdirSync(dir);
  if (left.length <= MAX_FILES) return;
  const byAge = left.map((n) => ({ n, t: fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.t - b.t);
  for (const { n } of byAge.slice(0, left.length - MAX_FILES)) fs.rmSync(path.join(dir, n), { force: true });
}

/** The uses the code of a module kept with `uses` should be kept again for: undefined when it is up to date. */
function keepFor(uses) {
  if (uses === undefined) return current === undefined ? [] : [current];
  return current === undefined || uses.includes(current) ? undefined : [...uses, current];
}

/**
 * Plans the write of the modules that have no kept code 3 s from now, unless one is planned or
 * none is pending. Code kept again for another use waits for the run's end, and is written only
 * if it ends well: by then the run compiled what it ran (a `down` waiting out a grace period ran
 * its last steps after those 3 s).
 */
function plan() {
  if (timer !== undefined || !pending.some((p) => p.uses === undefined)) return;
  timer = setTimeout(() => writePending(false), 3000);
  timer.unref();
}

/**
 * The first line of a kept file naming `uses`, padded with spaces to a multiple of 8 bytes: V8
 * copies cached data that is not pointer-aligned before it reads it (AlignedCachedData), and the
 * data follows the line in the file's buffer (malloc's, 16-byte aligned). Unaligned, the copy of
 * the kept code of an `up -d` made ~100 more page faults (`perf record -e page-faults`).
 */
function headerFor(uses) {
  const line = `${HEADER}${uses.join(',')}`;
  return Buffer.from(`${line.padEnd(Math.ceil((line.length + 1) / 8) * 8 - 1)}\n`, 'latin1');
}

/** The wrapper scripts/bundle.mjs writes around a pack's code: Node's (Module.wrap). */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];

/**
 * A module's code as the script V8 compiles: wrapped by Node's wrapper, unless it is wrapped
 * already (a pack): the string Module.wrap() makes is a concatenation, which V8 copies into one
 * string before it looks the script up in its compilation cache.
 */
function wrapped(content) {
  return content.startsWith(WRAPPER[0]) && content.endsWith(WRAPPER[1]) ? content : Module.wrap(content);
}

/** The buffer readWhole() reads into, grown as needed and kept for the process's life. */
let scratch = Buffer.allocUnsafeSlow(0);

/**
 * The bytes of `file`, in a buffer the next call reuses: a pack's source (~0.3 MB) and its kept
 * code (~0.5 MB) would each be a fresh allocation whose every page faults once (~10 µs a fault
 * on a paravirtualized guest; `up -d`'s files are ~2 MB). Used at once: V8 copies a source into a
 * string and reads cached data while the script is made.
 */
function readWhole(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let n = 0;
    for (;;) {
      if (scratch.length < Math.max(size, n) + 1) {
        // 1 MiB at first, more than any pack: its pages are touched only as far as files reach.
        const bigger = Buffer.allocUnsafeSlow(Math.max(size + 1, scratch.length * 2, 1 << 20));
        scratch.copy(bigger, 0, 0, n);
        scratch = bigger;
      }
      const read = fs.readSync(fd, scratch, n, scratch.length - n, null);
      if (read === 0) return scratch.subarray(0, n);
      n += read;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Splits a kept file into its uses and V8's data (a file of an older layout: no uses). */
function parseKept(buffer) {
  if (buffer.length > HEADER.length && buffer.toString('latin1', 0, HEADER.length) === HEADER) {
    const end = buffer.indexOf(10, HEADER.length);
    if (end > 0) return { uses: buffer.toString('latin1', HEADER.length, end).trimEnd().split(',').filter(Boolean), data: buffer.subarray(end + 1) };
  }
  return { uses: [], data: buffer };
}

/** Writes the pending modules' code: at the run's end (`atEnd`), every one to be kept; else (the 3 s timer) those with none kept. */
function writePending(atEnd) {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  const todo = [];
  for (const p of pending.splice(0)) {
    const uses = keepFor(p.uses);
    if (uses === undefined) continue; // kept for this use already
    if (p.uses !== undefined && !atEnd) pending.push(p); // kept again only at the end
    else todo.push({ ...p, uses });
  }
  if (todo.length === 0) return;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
    if (!trusted()) return;
  } catch {
    return; // not writable (a user without root, a read-only file system): no code is made for nothing
  }
  for (const { script, where, uses } of todo) {
    try {
      const temp = `${where}.${process.pid}.tmp`;
      fs.writeFileSync(temp, Buffer.concat([headerFor(uses), script.createCachedData()]), { mode: 0o600 });
      fs.renameSync(temp, where);
    } catch {
      // not kept: the next run compiles this module again
    }
  }
  try {
    prune(bundle);
  } catch {
    // pruned by a later run
  }
}

/**
 * Whether the cache folder may be read: code in it runs as this process, so it must be this
 * user's and writable by no one else (STACK_CACHE comes from the environment, kept by `sudo -E`).
 * A folder that is not there yet is made 0700 by the first write.
 */
function trusted() {
  const s = fs.statSync(dir, { throwIfNoEntry: false });
  return s === undefined || (s.isDirectory() && s.uid === process.geteuid() && (s.mode & 0o022) === 0);
}

/**
 * A chunk of the bundle that another chunk requires (`./chunk-X.cjs`, a sibling), loaded as
 * Module.prototype.load would but without Node's resolution of the name: a stat of the file and
 * a look for the package.json that scopes it, ~0.14 ms a require (34 of them in `ps`: 4.7 ms).
 * Node's own require reports a file that is not there.
 */
function requireSibling(filename, parent) {
  const cached = Module._cache[filename];
  if (cached !== undefined && cached.loaded) return cached.exports;
  // Still running (a require cycle), or put there unrun by the ES module loader (an .mjs chunk
  // that imports it): Node's require knows both.
  if (cached !== undefined) return parent.require(filename);
  const code = packed.get(filename) ?? (loadPack(filename) ? packed.get(filename) : undefined);
  if (code !== undefined) {
    packed.delete(filename);
    counts.packed++;
    return run(filename, parent, (child) => code.call(child.exports, child.exports, requireFor(child), child, filename, path.dirname(filename)));
  }
  let content;
  try {
    content = fs.readFileSync(filename, 'utf8');
  } catch {
    return parent.require(filename);
  }
  return run(filename, parent, (child) => child._compile(content, filename));
}

/** Module._nodeModulePaths of each folder, made once: every chunk of the bundle has the same. */
const modulePaths = new Map();

/**
 * The folders a module of `dir` looks for packages in, as Node gives them (each module its own
 * array). Node's _nodeModulePaths resolves and splits the folder at every call: 5.1 ms of an
 * `up -d` of 1 (CPU profile, ~100 chunks run) went to it.
 */
function nodeModulePaths(dir) {
  let paths = modulePaths.get(dir);
  if (paths === undefined) modulePaths.set(dir, (paths = Module._nodeModulePaths(dir)));
  return paths.slice();
}

/** Makes the module of `filename` and runs its code (`body`) as Module.prototype.load would. */
function run(filename, parent, body) {
  const child = new Module(filename, parent);
  child.filename = filename;
  child.paths = nodeModulePaths(path.dirname(filename));
  Module._cache[filename] = child; // before it runs, as Node does: a require cycle gets its exports so far
  let threw = true;
  try {
    body(child);
    threw = false;
  } finally {
    if (threw) delete Module._cache[filename];
  }
  child.loaded = true;
  return child.exports;
}

/**
 * Loads the pack of chunk `filename` when the bundle has one (`pack.<chunk>`, scripts/bundle.mjs):
 * one file holding, each as a function, the code of the chunk and of the chunks it loads with
 * it (its static imports, but those its importers have loaded already). Reading and compiling
 * a file costs ~0.19 ms besides its code (a stat, two reads, a script; measured with 40 tiny
 * chunks: 7.6 ms from files, 2.0 from one pack), and a command loads 40-90 chunks. A module of
 * the pack is run when first required; one that is loaded already, or another pack's, is left.
 * Returns whether a pack was loaded.
 */
function loadPack(filename) {
  const where = path.join(path.dirname(filename), `pack.${path.basename(filename)}`);
  const dir = path.dirname(filename);
  let content;
  try {
    const bytes = readWhole(where);
    if (mostlyRun(packMembers(bytes), dir)) return false; // the few it lacks are read from their own files
    content = bytes.toString('utf8');
  } catch {
    return false; // no pack: the chunk is read from its own file
  }
  const pack = new Module(where, null);
  pack.filename = where;
  try {
    pack._compile(content, where); // its code only makes the object of functions
    for (const [name, code] of Object.entries(pack.exports)) {
      const member = `${dir}/${name}`; // a chunk file's own name (scripts/bundle.mjs): nothing for path.join to normalize
      if (typeof code === 'function' && Module._cache[member] === undefined && !packed.has(member)) packed.set(member, code);
    }
  } catch {
    return false; // a damaged pack: the chunks' own files are there
  }
  return true;
}

/** What begins the comment on a pack's first line that lists its members (scripts/bundle.mjs). */
const PACK_HEADER = `${WRAPPER[0]}/* stack-pack `;

/** A pack's members as its first line lists them, [chunk file name, bytes] each (undefined: a pack without the line). */
function packMembers(bytes) {
  if (bytes.length < PACK_HEADER.length || bytes.toString('latin1', 0, PACK_HEADER.length) !== PACK_HEADER) return undefined;
  const end = bytes.indexOf(' */\n', PACK_HEADER.length, 'latin1');
  if (end < 0) return undefined;
  return bytes
    .toString('latin1', PACK_HEADER.length, end)
    .split(' ')
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      return [entry.slice(0, colon), Number(entry.slice(colon + 1))];
    });
}

/**
 * Whether this process has run (or holds, from another pack) most of a pack's members, by size:
 * then the pack is not compiled for the few it lacks. A pack is made for one dynamic import
 * from what its importers load statically, and other paths bring its members first: in a fresh
 * `up -d` the executor's kernel pack had loaded 238 KB of the 247 KB of the runtime's pack that
 * the supervisor's start imports, and 91 of the 105 KB of the host view's (a command compiled
 * ~0.5 MB of code it had run already). A pack left so is still read (into the reused buffer, a
 * copy from the page cache): only its text's string and its compiling are saved.
 */
function mostlyRun(members, dir) {
  if (members === undefined) return false;
  let total = 0;
  let lacking = 0;
  for (const [name, size] of members) {
    total += size;
    const member = `${dir}/${name}`;
    if (Module._cache[member] === undefined && !packed.has(member)) lacking += size;
  }
  return lacking * 2 < total;
}

/**
 * For an entry of the bundle (on the line after install()): loads the entry's pack and returns the `require`
 * its chunks are then found with (Node's own, which reads each file, when nothing is installed).
 */
function enter(mod, nodeRequire) {
  if (bundle === undefined || path.dirname(mod.filename) !== bundle) return nodeRequire;
  loadPack(mod.filename);
  return requireFor(mod);
}

/** The `require` a module's code is given, as Node makes it (a sibling chunk found directly). */
function requireFor(mod) {
  const here = path.dirname(mod.filename);
  const require = (id) =>
    here === bundle && id.startsWith('./') && id.endsWith('.cjs') && id.indexOf('/', 2) === -1 ? requireSibling(`${here}/${id.slice(2)}`, mod) : mod.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

/** Compiles the CommonJS modules under `bundleDir` with their cached code; once per process. */
function install(bundleDir) {
  // Node before 20.12 cannot run import() from a vm.Script in the main context: no cache there.
  if (dir !== undefined || process.env.STACK_CODE_CACHE === '0' || vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER === undefined) return;
  dir = cacheDir();
  let usable;
  try {
    usable = trusted();
  } catch {
    usable = false;
  }
  if (!usable) return;
  bundle = path.resolve(bundleDir);
  folder = fnv(bundle);
  const prefix = bundle + path.sep;
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileCached(content, filename) {
    if (!filename.startsWith(prefix) || !filename.endsWith('.cjs')) return compile.call(this, content, filename);
    const where = cachePath(filename);
    let kept;
    if (where !== undefined) {
      try {
        kept = parseKept(readWhole(where));
      } catch {
        kept = undefined;
      }
    }
    const cachedData = kept?.data;
    const script = new vm.Script(wrapped(content), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    counts.compiled++;
    if (cachedData !== undefined) counts[script.cachedDataRejected ? 'rejected' : 'cached']++;
    if (where !== undefined) {
      pending.push({ script, where, uses: cachedData === undefined || script.cachedDataRejected ? undefined : kept.uses });
      plan();
    }
    const fn = script.runInThisContext({ displayErrors: true });
    return fn.call(this.exports, this.exports, requireFor(this), this, filename, path.dirname(filename));
  };
  process.once('exit', (code) => {
    if (code === 0) writePending(true);
  });
}

/**
 * Tells what this run is for (the CLI's command): the modules it loads are kept again at its end
 * when their kept code was made by runs of other uses only (see the header).
 */
function use(name) {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name) || current !== undefined) return;
  current = name;
}

// Where the CLI's code finds use() (src/cli/main.ts): the bundle's modules and tsc's share no path to this file.
globalThis[Symbol.for('stack.code-cache')] = { use };

module.exports = { install, enter, use, stats: () => ({ ...counts }) };

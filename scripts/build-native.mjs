// Builds the small C helpers in native/ (the launcher, the exec helper, the seccomp compiler and
// the netlink helper) from source with the machine's gcc, and libstack.so, the functions the CLI
// calls through koffi (native/lib/*.c, e.g. spawning into a cgroup). Nothing is downloaded; an
// up-to-date binary is left alone.
//
// A program <name> is native/<name>.c (its main) + native/<name>/*.c + native/common/*.c,
// compiled in one gcc invocation into native/build/<name>; headers are included as
// "common/x.h" / "<name>/x.h" (-I native). It is rebuilt when any .c or .h it uses is newer
// than the binary. To add a shared source, drop a .c (and its .h) in native/common/: every
// program picks it up. To link a library, add its flag to LIBS (every program) or to
// PROGRAM_LIBS[name] (one program), e.g. LIBS = ['-lseccomp'].
import { readdirSync, mkdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native');
const out = join(src, 'build');
mkdirSync(out, { recursive: true });

/** Link flags for every program (libraries go after the sources): libseccomp (Debian's
 * libseccomp-dev, see scripts/apt-packages.txt) for native/common/seccomp.c. */
const LIBS = ['-lseccomp'];
/** Link flags for one program only, by name. */
const PROGRAM_LIBS = {};
/** This script: a change to its flags rebuilds everything. */
const self = fileURLToPath(import.meta.url);
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-I', src];

/** The files of a folder of native/ ending in `ext`, as full paths, sorted; none if it is absent. */
function filesIn(dir, ext) {
  const path = join(src, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(path, f));
}

/** The sources (.c) and headers (.h) that make up program `name`. */
function programFiles(name) {
  const main = join(src, `${name}.c`);
  const sources = [main, ...filesIn(name, '.c'), ...filesIn('common', '.c')];
  const headers = [...filesIn(name, '.h'), ...filesIn('common', '.h'), ...filesIn('.', '.h')];
  return { sources, headers };
}

for (const file of existsSync(src) ? readdirSync(src).sort() : []) {
  if (!file.endsWith('.c')) continue;
  const name = file.slice(0, -2);
  const output = join(out, name);
  const { sources, headers } = programFiles(name);
  const newest = Math.max(...[...sources, ...headers].map((f) => statSync(f).mtimeMs), statSync(self).mtimeMs);
  if (existsSync(output) && statSync(output).mtimeMs >= newest) continue;
  const args = [...CFLAGS, '-o', output, ...sources, ...LIBS, ...(PROGRAM_LIBS[name] ?? [])];
  try {
    execFileSync('gcc', args, { stdio: 'inherit' });
  } catch {
    console.error(`stack: building native/${file} failed (gcc ${args.join(' ')})`);
    process.exit(1);
  }
}

// native/lib/*.c: one shared library, native/build/libstack.so, loaded by koffi (src/sys/native-spawn.ts),
// with the common sources it shares with the programs (LIB_COMMON: none that reports or exits).
const LIB_COMMON = ['clone-into'];
const libSources = [...filesIn('lib', '.c'), ...LIB_COMMON.map((name) => join(src, 'common', `${name}.c`))];
if (filesIn('lib', '.c').length > 0) {
  const output = join(out, 'libstack.so');
  const headers = [...filesIn('lib', '.h'), ...LIB_COMMON.map((name) => join(src, 'common', `${name}.h`))];
  const newest = Math.max(...[...libSources, ...headers].map((f) => statSync(f).mtimeMs), statSync(self).mtimeMs);
  if (!existsSync(output) || statSync(output).mtimeMs < newest) {
    const args = [...CFLAGS, '-shared', '-fPIC', '-fvisibility=hidden', '-Wl,-z,now', '-o', output, ...libSources];
    try {
      execFileSync('gcc', args, { stdio: 'inherit' });
    } catch {
      console.error(`stack: building native/lib failed (gcc ${args.join(' ')})`);
      process.exit(1);
    }
  }
}

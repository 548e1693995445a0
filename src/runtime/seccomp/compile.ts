// A filter compiled to BPF once per process by native/build/seccomp (libseccomp's own output),
// so that every later launch of a service with the same filter sends the BPF and the launcher
// loads it as is: building ~380 rules for three x86 ABIs costs milliseconds, loading the result
// almost nothing. `stack up` compiles each distinct filter once; the supervisor keeps its
// compilations for its restarts. Each compilation is also kept in /var/cache/stack/seccomp
// (STACK_CACHE), keyed by the filter and the compiler binary, so that a later command (a
// `stack restart`, the next `up`) reads it instead of running the compiler (~20 ms). When the
// compiler cannot run, the launcher builds the filter itself from the rules (the same filter,
// the old cost).
import { closeSync, constants as fsConstants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../../sys/builtin.js';
import { sha256Hex } from '../../sys/lazy-crypto.js';
import { seccompRequestPairs, type SeccompFilter } from './resolve.js';

/** The compiler built by `npm run build` (scripts/build-native.mjs). */
export const SECCOMP_COMPILER_PATH = fileURLToPath(new URL('../../../native/build/seccomp', import.meta.url));

const compiled = new Map<string, Promise<Buffer | undefined>>();

/** Where compiled filters are kept between commands (root's own folder: a filter read back is trusted). */
export function seccompCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.STACK_CACHE !== undefined && env.STACK_CACHE !== '' ? env.STACK_CACHE : '/var/cache/stack', 'seccomp');
}

/** A BPF program as the compiler gives it: whole 8-byte instructions, at least one. */
const isBpf = (bpf: Buffer): boolean => bpf.length > 0 && bpf.length % 8 === 0;

/**
 * Whether a folder or file of kept filters is this user's and writable by no one else: a filter
 * read back is what a service's system calls are held to (a planted allow-all one would free an
 * exec), and STACK_CACHE comes from the environment (`sudo -E` keeps it). src/code-cache.cjs
 * trusts its folder by the same rule.
 */
function ownOnly(s: { uid: number; mode: number }): boolean {
  return s.uid === process.geteuid?.() && (s.mode & 0o022) === 0;
}

/** The kept compilation of `key`, when there is one in a folder and file only this user may write. */
function cached(key: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    const dir = seccompCacheDir();
    const folder = statSync(dir);
    if (!folder.isDirectory() || !ownOnly(folder)) return undefined;
    fd = openSync(join(dir, `${key}.bpf`), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    const file = fstatSync(fd);
    if (!file.isFile() || !ownOnly(file)) return undefined;
    const bpf = readFileSync(fd);
    return isBpf(bpf) ? bpf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Keeps a compilation for later commands; best effort (a read-only /var/cache only costs the next compile). */
function keep(key: string, bpf: Buffer): void {
  try {
    const dir = seccompCacheDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const folder = statSync(dir);
    if (!folder.isDirectory() || !ownOnly(folder)) return; // another's folder: never written, never read
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    writeFileSync(tmp, bpf, { mode: 0o600, flag: 'wx' }); // a new file, never through a link left there
    renameSync(tmp, join(dir, `${key}.bpf`));
  } catch {
    // not kept
  }
}

/** What tells one build of the compiler from another (a rebuild may change its output). */
function compilerIdentity(compiler: string): string {
  const s = statSync(compiler, { throwIfNoEntry: false });
  return s === undefined ? 'missing' : `${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** Runs the compiler on the filter's pairs; the BPF, or undefined when it failed. */
function compile(pairs: readonly [string, string][], compiler: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const { spawn } = childProcess();
    const child = spawn(compiler, [], { stdio: ['pipe', 'pipe', 'ignore'], cwd: '/', env: {} });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.on('error', () => undefined);
    child.once('error', () => resolve(undefined));
    child.once('close', (code) => {
      const bpf = Buffer.concat(chunks);
      resolve(code === 0 && isBpf(bpf) ? bpf : undefined);
    });
    child.stdin.end(Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8'));
  });
}

/**
 * The launch request pairs of `filter`: the compiled BPF (and the flags, which are seccomp(2)'s
 * to apply) when the compiler gave it, else the rules for the launcher to build.
 */
export async function compiledSeccompPairs(filter: SeccompFilter | undefined, compiler = SECCOMP_COMPILER_PATH): Promise<[string, string][]> {
  if (filter === undefined) return [];
  const identity = compilerIdentity(compiler); // a rebuilt compiler (a long-lived supervisor outlives builds) answers anew
  const build = `${compiler}\0${identity}`;
  let byCompiler = answers.get(filter);
  if (byCompiler === undefined) answers.set(filter, (byCompiler = new Map()));
  let answer = byCompiler.get(build);
  if (answer === undefined) {
    const mine = answerOf(filter, compiler, identity);
    byCompiler.set(build, (answer = mine));
    // Only compiled answers are kept: a failed compilation is tried again by the next call.
    const forget = (): void => {
      if (byCompiler.get(build) === mine) byCompiler.delete(build);
    };
    void mine.then(({ compiled }) => {
      if (!compiled) forget();
    }, forget);
  }
  return (await answer).pairs.map(([k, v]): [string, string] => [k, v]);
}

/** The pairs of `filter` for this compiler build, and whether they are the compiled BPF. */
async function answerOf(filter: SeccompFilter, compiler: string, identity: string): Promise<{ pairs: [string, string][]; compiled: boolean }> {
  const pairs = seccompRequestPairs(filter);
  const key = sha256Hex(JSON.stringify([compiler, identity, pairs]));
  let bpf = compiled.get(key);
  if (bpf === undefined) {
    const kept = cached(key);
    bpf = kept !== undefined ? Promise.resolve(kept) : compile(pairs, compiler).then((code) => (code !== undefined && keep(key, code), code));
    compiled.set(key, bpf);
  }
  const code = await bpf;
  if (code === undefined) {
    compiled.delete(key); // try again next time (a build in progress, a transient failure)
    return { pairs, compiled: false };
  }
  return { pairs: [['seccomp_bpf', code.toString('hex')], ...filter.flags.map((f): [string, string] => ['seccomp_flag', f])], compiled: true };
}

/**
 * The answers under way or given, by filter object (serviceSeccomp hands the services that share
 * a profile and capabilities one filter) and compiler build (path and identity). The launches of
 * one `up` ask at once: the first call's answer is theirs too, so the ~400 rule pairs are built,
 * hashed and the BPF written as hex once, not once a launch (20 times in an `up -d` of 20: 1.6 MB
 * of its 27 MB of allocations, sampled). So is its failure, should building the pairs throw.
 */
const answers = new WeakMap<SeccompFilter, Map<string, Promise<{ pairs: [string, string][]; compiled: boolean }>>>();

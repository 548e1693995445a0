// A filter compiled to BPF once per process by native/build/seccomp (libseccomp's own output),
// so that every later launch of a service with the same filter sends the BPF and the launcher
// loads it as is: building ~380 rules for three x86 ABIs costs milliseconds, loading the result
// almost nothing. `stack up` compiles each distinct filter once; the supervisor keeps its
// compilations for its restarts. When the compiler cannot run, the launcher builds the filter
// itself from the rules (the same filter, the old cost).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { seccompRequestPairs, type SeccompFilter } from './resolve.js';

/** The compiler built by `npm run build` (scripts/build-native.mjs). */
export const SECCOMP_COMPILER_PATH = fileURLToPath(new URL('../../../native/build/seccomp', import.meta.url));

const compiled = new Map<string, Promise<Buffer | undefined>>();

/** Runs the compiler on the filter's pairs; the BPF, or undefined when it failed. */
function compile(pairs: readonly [string, string][], compiler: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const child = spawn(compiler, [], { stdio: ['pipe', 'pipe', 'ignore'], cwd: '/', env: {} });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.on('error', () => undefined);
    child.once('error', () => resolve(undefined));
    child.once('close', (code) => {
      const bpf = Buffer.concat(chunks);
      resolve(code === 0 && bpf.length > 0 && bpf.length % 8 === 0 ? bpf : undefined);
    });
    child.stdin.end(Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8'));
  });
}

/**
 * The launch request pairs of `filter`: the compiled BPF (and the flags, which are seccomp(2)'s
 * to apply) when the compiler gave it, else the rules for the launcher to build.
 */
export async function compiledSeccompPairs(filter: SeccompFilter | undefined, compiler = SECCOMP_COMPILER_PATH): Promise<[string, string][]> {
  const pairs = seccompRequestPairs(filter);
  if (filter === undefined) return pairs;
  const key = createHash('sha256').update(JSON.stringify([compiler, pairs])).digest('hex');
  let bpf = compiled.get(key);
  if (bpf === undefined) {
    bpf = compile(pairs, compiler);
    compiled.set(key, bpf);
  }
  const code = await bpf;
  if (code === undefined) {
    compiled.delete(key); // try again next time (a build in progress, a transient failure)
    return pairs;
  }
  return [['seccomp_bpf', code.toString('hex')], ...filter.flags.map((f): [string, string] => ['seccomp_flag', f])];
}

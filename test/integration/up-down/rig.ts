// A project in a temp folder with its own STACK_ROOT, driven through the real CLI binary
// (bin/stack.cjs over dist/: run `npm run build` first). Every rig gets a unique project name;
// cleanup() runs `down -v` and removes the folder, whatever the test did.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterEach } from 'vitest';
import { inventory } from '../../harness/inventory.js';
import { bridgeName, cgroupPath, netnsName, nftTableName, vethHostName } from '../../../src/names.js';
import { serviceRecords, type ServiceRecord } from '../../../src/state/records.js';
import type { StateRoots } from '../../../src/state/paths.js';

export const BIN = fileURLToPath(new URL('../../../bin/stack.cjs', import.meta.url));
/** Installs the executor's crash hook (STACK_TEST_CRASH_AT) in the CLI it is loaded into. */
const CRASH_POINT = fileURLToPath(new URL('../../harness/crash-point.mjs', import.meta.url));

/** What a CLI run gave. */
export interface CliResult {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export class Rig {
  readonly name = `ud${randomBytes(4).toString('hex')}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'stack-ud-'));
  readonly roots: StateRoots = { run: join(this.dir, 'state', 'run'), lib: join(this.dir, 'state', 'lib') };
  readonly env: Record<string, string | undefined> = {
    ...process.env,
    STACK_ROOT: join(this.dir, 'state'),
    STACK_IP_FORWARD: 'leave',
    STACK_TEST_CRASH_AT: undefined,
  };

  /** Writes the spec (`name:` is the rig's) as stack.yaml. */
  spec(services: string, extra = ''): void {
    writeFileSync(join(this.dir, 'stack.yaml'), `name: ${this.name}\nservices:\n${services}${extra}`);
  }

  /** Starts `stack ARGS` in the project folder. */
  start(args: readonly string[], env: Record<string, string | undefined> = {}): ResultPromise {
    // The crash hook exists only with the harness's module loaded (src/executor/crash.ts).
    const crash = (env.STACK_TEST_CRASH_AT ?? this.env.STACK_TEST_CRASH_AT) ? ['--import', CRASH_POINT] : [];
    return execa(process.execPath, [...crash, BIN, ...args], { cwd: this.dir, env: { ...this.env, ...env }, extendEnv: false, reject: false });
  }

  /** Runs `stack ARGS` to its end. */
  async stack(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
    const r = await this.start(args, env);
    return { exitCode: r.exitCode, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** `stack ARGS`, failing the test with its output unless it exits 0. */
  async ok(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
    const r = await this.stack(args, env);
    if (r.exitCode !== 0) throw new Error(`stack ${args.join(' ')} exited ${r.exitCode ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
    return r;
  }

  /** The service's record. */
  record(service: string): Promise<ServiceRecord | undefined> {
    return serviceRecords.read(this.roots, this.name, service);
  }

  /** Pid of the service's process (throws when it has none). */
  async pid(service: string): Promise<number> {
    const p = (await this.record(service))?.process?.pid;
    if (p === undefined) throw new Error(`service ${service} has no process`);
    return p;
  }

  /**
   * The kernel objects of this project that exist (from the suite's inventory, filtered to its
   * names), plus its run folder when it is still there.
   */
  leftovers(services: readonly string[], networks: readonly string[] = ['default']): string[] {
    const links = new Set([
      ...networks.map((n) => bridgeName(this.name, n)),
      ...services.flatMap((s) => networks.map((n) => vethHostName(this.name, s, n))),
    ]);
    const netnsPrefix = netnsName(this.name, '');
    const mine = inventory().filter((entry) => {
      const [kind, what = ''] = entry.split(' ');
      if (kind === 'netns') return what.startsWith(netnsPrefix);
      if (kind === 'link') return links.has(what);
      if (kind === 'cgroup') return `${what}/`.includes(`/${cgroupPath(this.name)}/`) || what.endsWith(`/stack.monitors/${this.name}`);
      if (kind === 'nft') return what === nftTableName(this.name);
      if (kind === 'mount') return what.startsWith(this.dir);
      return false;
    });
    const run = join(this.roots.run, this.name);
    return existsSync(run) ? [...mine, `state ${run}: ${readdirSync(run, { recursive: true }).join(', ')}`] : mine;
  }

  /** Down with volumes, no grace (gc when a test removed the records), then the folder goes. */
  async cleanup(): Promise<void> {
    try {
      await this.stack(['-p', this.name, 'down', '-v', '--timeout', '0']);
      if (this.leftovers(['x']).length > 0) await this.stack(['gc', this.name]);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A `rig()` that makes a fresh Rig for the test, each one cleaned up after it (registers the afterEach). */
export function rigPerTest(): () => Rig {
  const rigs: Rig[] = [];
  afterEach(async () => {
    await Promise.all(rigs.splice(0).map((r) => r.cleanup()));
  });
  return () => {
    const r = new Rig();
    rigs.push(r);
    return r;
  };
}

// A service's /etc/hosts, /etc/hostname and /etc/resolv.conf, written into its runtime folder
// for the launcher to bind into its view. Rewritten in place (never replaced by a rename: a
// bind-mounted file is an inode) whenever its text changes, so peers that join later are named.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostnameFile, hostsFile, resolvConf } from '../../network/hosts.js';
import type { RunContext } from '../context.js';
import { serviceFiles } from '../../state/service-files.js';
import { STATE_DIR_MODE } from '../../state/paths.js';
import { mkdir, readFile, writeFile } from '../../sys/fs-async.js';

/**
 * Writes `text` unless the file holds it already. Synchronously: three small files of the run
 * folder per service, where each asynchronous step is a round trip through libuv's four threads
 * that the other services' starts queue up on (state/atomic.ts writes records so too).
 */
function writeIfChanged(path: string, text: string, fresh: boolean): void {
  let before: string | undefined;
  // In a folder made just now there is nothing to read (a failed open and an exception a file).
  if (!fresh) {
    try {
      before = readFileSync(path, 'utf8');
    } catch {
      before = undefined;
    }
  }
  if (before !== text) writeFileSync(path, text, { mode: 0o644 });
}

/** A host file's text ('' when it cannot be read): read synchronously, as the writes are. */
function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Search domains of the host's resolver, kept in the services' resolv.conf. */
function hostSearch(): string[] {
  const text = hostFile('/etc/resolv.conf');
  return text
    .split('\n')
    .filter((l) => /^\s*(search|domain)\s/.test(l))
    .flatMap((l) => l.trim().split(/\s+/).slice(1));
}

/** The host's search domains, read once per run (every service of an up writes a resolv.conf). */
const searchOfRun = new WeakMap<RunContext, string[]>();

function runSearch(ctx: RunContext): string[] {
  let search = searchOfRun.get(ctx);
  if (search === undefined) searchOfRun.set(ctx, (search = hostSearch()));
  return search;
}

/** The three name files of `service`: [path, text] each. */
function nameFiles(ctx: RunContext, service: string): [string, string][] {
  const files = serviceFiles(ctx.roots, ctx.project.name, service);
  // network_mode: host: the host's own /etc/hosts and /etc/resolv.conf are the service's, as in Docker.
  const onHost = ctx.project.services[service]?.networkMode?.kind === 'host';
  const [hostHosts, hostResolv] = onHost ? [hostFile('/etc/hosts'), hostFile('/etc/resolv.conf')] : [undefined, undefined];
  return [
    [files.hosts, hostsFile(ctx.project, ctx.ipam, service, hostHosts)],
    [files.hostname, hostnameFile(ctx.project, service)],
    [files.resolvConf, resolvConf(ctx.project, ctx.ipam, service, { search: runSearch(ctx), ...(hostResolv !== undefined && { resolvConf: hostResolv }) })],
  ];
}

/** Writes the three name files of `service` (creating its runtime folder). */
export async function writeNameFiles(ctx: RunContext, service: string): Promise<void> {
  // Its files stay 0644: a non-root service reads them through its view. mkdir names the first
  // folder it made: the runtime folder is new (a first start), and so are its files.
  const fresh = mkdirSync(serviceFiles(ctx.roots, ctx.project.name, service).dir, { recursive: true, mode: STATE_DIR_MODE }) !== undefined;
  for (const [path, text] of nameFiles(ctx, service)) writeIfChanged(path, text, fresh);
}

/**
 * writeNameFiles with the folder's making and the writes on libuv's threads (their texts are
 * made here): a start begins them once it recorded itself and waits for them just before its
 * launch, whose launcher binds them. Making a file is the kernel's slowest step of a start on a
 * filesystem that reuses no inode freed in the last minute (ext4 without a journal, as /run and
 * /tmp are on this host kind: after a few `up`s and `down`s each of the four took 0.2-1 ms,
 * searching past the freed ones); done on this thread, a fresh `up -d` of 20 spent 8-20 ms in
 * them, while the other core was idle for part of it.
 */
export async function writeNameFilesOffThread(ctx: RunContext, service: string): Promise<void> {
  const named = nameFiles(ctx, service);
  const fresh = (await mkdir(serviceFiles(ctx.roots, ctx.project.name, service).dir, { recursive: true, mode: STATE_DIR_MODE })) !== undefined;
  await Promise.all(
    named.map(async ([path, text]) => {
      const before = fresh ? undefined : await readFile(path, 'utf8').catch(() => undefined);
      if (before !== text) await writeFile(path, text, { mode: 0o644 });
    }),
  );
}

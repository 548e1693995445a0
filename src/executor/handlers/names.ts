// A service's /etc/hosts, /etc/hostname and /etc/resolv.conf, written into its runtime folder
// for the launcher to bind into its view. Rewritten in place (never replaced by a rename: a
// bind-mounted file is an inode) whenever its text changes, so peers that join later are named.
import { readFileSync } from 'node:fs';
import { hostnameFile, hostsFile, resolvConf } from '../../network/hosts.js';
import type { RunContext } from '../context.js';
import { serviceFiles } from '../../state/service-files.js';
import { STATE_DIR_MODE } from '../../state/paths.js';
import { mkdir, readFile, writeFile } from '../../sys/fs-async.js';

/** A host file's text ('' when it cannot be read). */
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

/** The runtime folder of `service` and its three name files, [path, text] each. */
function nameFiles(ctx: RunContext, service: string): { dir: string; files: [string, string][] } {
  const files = serviceFiles(ctx.roots, ctx.project.name, service);
  // network_mode: host: the host's own /etc/hosts and /etc/resolv.conf are the service's, as in Docker.
  const onHost = ctx.project.services[service]?.networkMode?.kind === 'host';
  const [hostHosts, hostResolv] = onHost ? [hostFile('/etc/hosts'), hostFile('/etc/resolv.conf')] : [undefined, undefined];
  return {
    dir: files.dir,
    files: [
      [files.hosts, hostsFile(ctx.project, ctx.ipam, service, hostHosts)],
      [files.hostname, hostnameFile(ctx.project, service)],
      [files.resolvConf, resolvConf(ctx.project, ctx.ipam, service, { search: runSearch(ctx), ...(hostResolv !== undefined && { resolvConf: hostResolv }) })],
    ],
  };
}

/**
 * Writes the three name files of `service`, each unless it holds its text already, creating its
 * runtime folder: the folder and the files are made on libuv's threads (their texts are made
 * here). A start begins this once it has recorded itself and waits for it before it makes its
 * cgroups (start.ts); the peers of the services an `up` started are rewritten so after its walk
 * (apply.ts afterUp). On this host kind's ext4 without a journal (/run and /tmp), making a file
 * passes over the inodes freed in the last minute: after many `up`s and `down`s the folder and
 * each of the three files took 0.2-1 ms of the kernel's time, 8-21 ms of an `up -d` of 20 on
 * the CLI's thread when they were made there (docs/architecture.md, "Kernel facts").
 */
export async function writeNameFiles(ctx: RunContext, service: string): Promise<void> {
  const { dir, files } = nameFiles(ctx, service);
  // mkdir names the first folder it made: the runtime folder is new (a first start), and so are
  // its files, with nothing to read first. The files are 0644: a non-root service reads them
  // through its view.
  const fresh = (await mkdir(dir, { recursive: true, mode: STATE_DIR_MODE })) !== undefined;
  await Promise.all(
    files.map(async ([path, text]) => {
      const before = fresh ? undefined : await readFile(path, 'utf8').catch(() => undefined);
      if (before !== text) await writeFile(path, text, { mode: 0o644 });
    }),
  );
}

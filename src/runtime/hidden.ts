// What a service's view hides (docs/isolation.md "What a service sees"): the credentials a
// compromised dependency would go for — in every home on the host (each folder under /home,
// /root, every existing home from /etc/passwd, system users' too, the invoking user's from
// SUDO_USER) the SSH, cloud, registry, package-index and browser credentials; the host's
// password hashes, private keys, VPN and cluster credentials; other container runtimes' storage;
// every project's volumes and records (the state roots). The host's /run and /tmp (agent
// sockets, XDG runtime dirs, podman's runtime auth.json) never reach the view: it has its own. The launcher puts an empty read-only
// tmpfs over a folder and /dev/null over a file (native/launcher/view.c). Computed on the host:
// only paths that exist are sent, and a symlink's target is hidden too.
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { StateRoots } from '../state/paths.js';
import { loadUserDb, type UserDb } from './user.js';

/** Credential files and folders hidden in every home (`~/` of each user). */
export const HOME_CREDENTIALS: readonly string[] = [
  '.ssh', '.aws', '.azure', '.gnupg', '.kube', '.docker', '.netrc', '.npmrc', '.pypirc', '.git-credentials',
  '.config/gh', '.config/hub', '.config/gcloud', '.config/doctl', '.config/git/credentials', '.terraform.d',
  '.vault-token', '.cargo/credentials', '.cargo/credentials.toml', '.gem/credentials', '.pgpass', '.my.cnf',
  '.password-store', '.local/share/keyrings', '.dockercfg', '.config/containers/auth.json', '.local/share/containers',
  '.s3cfg', '.boto', '.oci', '.config/rclone', '.mozilla', '.thunderbird', '.config/google-chrome', '.config/chromium',
  '.config/BraveSoftware', '.pki',
];

/** Host files and folders hidden from every service. */
export const HOST_SECRETS: readonly string[] = [
  '/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/security/opasswd', '/etc/ssl/private',
  '/etc/pki/tls/private', '/etc/letsencrypt', '/etc/krb5.keytab', '/etc/NetworkManager/system-connections',
  '/etc/wireguard', '/etc/ipsec.secrets', '/etc/ppp/chap-secrets', '/etc/ppp/pap-secrets', '/etc/kubernetes',
  '/etc/rancher', '/var/lib/rancher', '/var/lib/kubelet', '/var/lib/docker', '/var/lib/containers',
];

/** passwd homes that are no one's own folder (system users pointed at / or a binaries folder), or are never in the view. */
const NOT_A_HOME = new Set(['/', '/bin', '/sbin', '/usr', '/usr/bin', '/usr/sbin', '/var/empty', '/nonexistent', '/dev/null']);
const NOT_IN_VIEW = ['/run', '/tmp', '/proc', '/sys', '/dev'];

/** `path` normalized, without a trailing slash (`/var/lib/jenkins/` is `/var/lib/jenkins`). */
function homePath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Whether passwd home `home` (normalized) is worth searching for credentials. */
function isHome(home: string): boolean {
  if (!home.startsWith('/') || NOT_A_HOME.has(home)) return false;
  return !NOT_IN_VIEW.some((p) => home === p || home.startsWith(`${p}/`));
}

/** What the user asked beyond the defaults (`x-stack-hide`, `x-stack-show`): `~/x` means x in every home. */
export interface ViewChoices {
  readonly hide: readonly string[];
  readonly show: readonly string[];
}

/** Where the defaults are looked for (tests point them elsewhere). */
export interface HostLayout {
  readonly roots: StateRoots;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly userDb?: UserDb;
  /** The host's root, `/` unless a test says otherwise; paths returned are relative to it as `/...`. */
  readonly root?: string;
}

/**
 * Whether something is at `path` (a link counts, whatever it points at). A miss answers without
 * an exception: most looked-for paths are missing, and a throw each (~30 of them on a host with
 * a few homes) was most of the first look's ~2 ms, on the first launch's path.
 */
function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false; // ENOTDIR (a file where a folder is looked into), EACCES: nothing to hide there
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** Every home folder on the host: /root, each folder under /home, every user's home from /etc/passwd (system users' too: /var/lib/postgresql), SUDO_USER's. */
export function homeFolders(layout: HostLayout): string[] {
  const root = layout.root ?? '/';
  const db = layout.userDb ?? loadUserDb(root);
  const homes = new Set<string>(['/root', ...list(join(root, 'home')).map((n) => `/home/${n}`)]);
  for (const user of db.passwd) {
    const home = homePath(user.home);
    if (isHome(home)) homes.add(home);
  }
  const sudoUser = layout.env?.SUDO_USER;
  const invoker = sudoUser === undefined ? undefined : db.passwd.find((u) => u.name === sudoUser);
  if (invoker !== undefined && isHome(homePath(invoker.home))) homes.add(homePath(invoker.home));
  const home = layout.env?.HOME === undefined ? undefined : homePath(layout.env.HOME);
  if (home !== undefined && isHome(home)) homes.add(home);
  return [...homes].sort();
}

/** `~/x` in every home, or the absolute path as written. */
function expand(path: string, homes: readonly string[]): string[] {
  if (path === '~' || path.startsWith('~/')) return homes.map((h) => posix.join(h, path.slice(2)));
  return [posix.normalize(path)];
}

/**
 * The paths the service's view hides, absolute in the view (the host's layout): the defaults
 * above minus `show`, plus `hide`; only those that exist, each symlink's target added.
 */
export function hiddenPaths(layout: HostLayout, choices: ViewChoices = { hide: [], show: [] }): string[] {
  const root = layout.root ?? '/';
  const homes = homeFolders(layout);
  // Plain concatenation where it is exact (homes are normalized, never `/`; the credentials are
  // clean relative paths): ~750 path.join calls were 6.8 ms of the first look, on the launch's path.
  const onHost = root === '/' ? (p: string): string => p : (p: string): string => join(root, p);
  const candidates = new Set<string>();
  for (const home of homes) for (const c of HOME_CREDENTIALS) candidates.add(`${home}/${c}`);
  for (const s of HOST_SECRETS) candidates.add(s);
  for (const name of safeNames(onHost('/etc/ssh'))) {
    if (/^ssh_host_.*_key$/.test(name)) candidates.add(`/etc/ssh/${name}`);
  }
  candidates.add(posix.normalize(layout.roots.lib));
  candidates.add(posix.normalize(layout.roots.run));
  for (const shown of choices.show.flatMap((p) => expand(p, homes))) candidates.delete(shown);
  for (const hidden of choices.hide.flatMap((p) => expand(p, homes))) candidates.add(hidden);
  const out = new Set<string>();
  const present = entriesOf(homes, onHost);
  for (const path of candidates) {
    if (!present(path) || !exists(onHost(path))) continue;
    out.add(path);
    try {
      const real = realpathSync(onHost(path)).slice(root === '/' ? 0 : root.replace(/\/+$/, '').length) || '/';
      if (real !== path && real !== '/') out.add(real);
    } catch {
      // A dangling link hides nothing more.
    }
  }
  return [...out].sort();
}

/**
 * A quick `false` for a path in a home whose first component is not there: one readdir per home
 * instead of an lstat per credential path (~20 homes × 37 paths were ~700 lstat calls, 5-10 ms
 * of every launch run). `true` means "look": for other paths, and when a home cannot be listed
 * for another reason than its absence.
 */
function entriesOf(homes: readonly string[], onHost: (p: string) => string): (path: string) => boolean {
  const listed = new Map<string, ReadonlySet<string> | null>();
  for (const home of homes) {
    try {
      listed.set(home, new Set(readdirSync(onHost(home))));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      listed.set(home, code === 'ENOENT' || code === 'ENOTDIR' ? new Set() : null);
    }
  }
  // Longest first: a home inside another (/home/a and /home/a/b) answers for its own paths.
  const byLength = [...homes].sort((a, b) => b.length - a.length).map((home) => ({ prefix: `${home}/`, names: listed.get(home) }));
  return (path) => {
    const home = byLength.find((h) => path.startsWith(h.prefix));
    if (home === undefined || home.names === undefined || home.names === null) return true;
    const rest = path.slice(home.prefix.length);
    const slash = rest.indexOf('/');
    return home.names.has(slash < 0 ? rest : rest.slice(0, slash));
  };
}

function safeNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Hidden paths already computed, by the services' choices: one `up` or restart of many services
 * looks at the host once (each look is some 700 lstat calls, ~5 ms, on the launch's path). Made
 * per run and dropped with it, so a credential file created since is hidden by the next run.
 */
export type HidesCache = Map<string, readonly string[]>;

/** An empty HidesCache (one per up, restart or other run of launches). */
export function hidesCache(): HidesCache {
  return new Map();
}

/**
 * What `service`'s view hides on this host (its `x-stack-hide` and `x-stack-show` applied);
 * `userDb` is the host's, loaded when not given; `cache` reuses a look this run already made.
 */
export function serviceHides(
  roots: StateRoots,
  service: { readonly hide?: readonly string[]; readonly show?: readonly string[] },
  userDb?: UserDb,
  cache?: HidesCache,
): string[] {
  const choices = { hide: service.hide ?? [], show: service.show ?? [] };
  const key = JSON.stringify([roots.run, roots.lib, choices.hide, choices.show]);
  const known = cache?.get(key);
  if (known !== undefined) return [...known];
  const paths = hiddenPaths({ roots, env: process.env, ...(userDb !== undefined && { userDb }) }, choices);
  cache?.set(key, paths);
  return [...paths];
}

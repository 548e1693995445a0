// Registry credentials where Docker and podman keep them. Files are read in this order, the first
// that knows the registry winning:
//   1. `$REGISTRY_AUTH_FILE` when set, and then no other file (podman's --authfile / skopeo);
//   2. Docker's `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` — first, because stack reads
//      compose files and its users log in with `docker login` as docker compose expects;
//   3. podman's `${XDG_RUNTIME_DIR}/containers/auth.json`, then `~/.config/containers/auth.json`.
// Within a file, as Docker resolves it: `credHelpers[registry]`, else `credsStore` (then `auths` is
// not consulted), else the `auths` entry (base64 `user:password` in `auth`, or username/password).
// A helper is run as `docker-credential-<name> get` with the server URL on stdin and answers
// `{"Username", "Secret"}`; a credsStore helper that is not installed counts as no credentials, a
// credHelpers one is an error. Under sudo the invoking user's home (SUDO_USER's passwd entry) is used.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { RegistryCredentials } from './registry.js';

/** The config file Docker reads: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json');
}

/** The keys an `auths` entry for `registry` may have (Docker Hub's is its old index URL). */
function keysFor(registry: string): string[] {
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

/** Credentials for `registry` from the Docker config at `file`; undefined when it has none (or no file). */
export function dockerConfigCredentials(registry: string, file = dockerConfigPath(), env: NodeJS.ProcessEnv = process.env): RegistryCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError('REGISTRY_CREDENTIALS', `cannot read ${file}: ${(e as Error).message}`, 'check its permissions');
  }
  const bad = (why: string) => new UserError('REGISTRY_CREDENTIALS', `${file} is not a usable Docker config: ${why}`, 'fix or remove the file (docker login writes it)');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw bad('it is not JSON');
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw bad('it is not a JSON object');
  const { auths, credHelpers, credsStore } = config as { auths?: unknown; credHelpers?: unknown; credsStore?: unknown };
  if (credHelpers !== undefined) {
    if (typeof credHelpers !== 'object' || credHelpers === null) throw bad('"credHelpers" is not an object');
    for (const key of keysFor(registry)) {
      const helper = (credHelpers as Record<string, unknown>)[key];
      if (helper === undefined) continue;
      if (typeof helper !== 'string') throw bad(`the credHelpers entry of ${JSON.stringify(key)} is not a string`);
      if (helper) return helperCredentials(helper, registry, file, env);
    }
  }
  if (credsStore !== undefined && credsStore !== '') {
    if (typeof credsStore !== 'string') throw bad('"credsStore" is not a string');
    // A default store that is not installed (a config copied from Docker Desktop) means no
    // credentials rather than an error: public images still pull.
    return helperCredentials(credsStore, registry, file, env, { missingOk: true });
  }
  if (auths === undefined) return undefined;
  if (typeof auths !== 'object' || auths === null) throw bad('"auths" is not an object');
  for (const key of keysFor(registry)) {
    const entry = (auths as Record<string, unknown>)[key];
    if (typeof entry !== 'object' || entry === null) continue;
    const { auth, username, password } = entry as { auth?: unknown; username?: unknown; password?: unknown };
    if (typeof auth === 'string' && auth) {
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw bad(`the auth of ${JSON.stringify(key)} is not base64 of user:password`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof username === 'string' && typeof password === 'string' && username) return { username, password };
  }
  return undefined;
}

/** The server URL a credential helper knows `registry` by (Docker Hub's is its v1 index URL). */
function helperServerUrl(registry: string): string {
  return keysFor(registry)[0]!;
}

/**
 * Runs `docker-credential-<helper> get` (found on env.PATH) for `registry`; undefined when it has
 * no credentials for it. An identity token (Username `<token>`) is refused as unsupported.
 */
export function helperCredentials(
  helper: string,
  registry: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { missingOk?: boolean } = {},
): RegistryCredentials | undefined {
  const program = `docker-credential-${helper}`;
  const fail = (why: string, hint: string) => new UserError('REGISTRY_CREDENTIALS', `the credential helper ${program} (named in ${file}) ${why} for ${registry}`, hint);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper) || helper.length > 100) {
    throw new UserError('REGISTRY_CREDENTIALS', `${file} names an invalid credential helper ${JSON.stringify(helper.slice(0, 100))}`, 'a helper name is letters, digits, ., _ and - (docker-credential-<name> on PATH)');
  }
  let out: string;
  try {
    out = execFileSync(program, ['get'], { input: helperServerUrl(registry), env, encoding: 'utf8', timeout: 60_000, maxBuffer: 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string; status?: number | null; signal?: string | null };
    if (err.code === 'ENOENT' && opts.missingOk) return undefined;
    if (err.code === 'ENOENT') throw fail('is not installed', `install ${program} on PATH, or remove it from ${file}`);
    const said = `${err.stdout ?? ''}\n${err.stderr ?? ''}`.trim();
    // The helpers' protocol: "credentials not found in native keychain" means none for this server.
    if (/credentials not found/i.test(said)) return undefined;
    const detail = said.split('\n')[0]!.slice(0, 200) || (err.signal ? `killed by ${err.signal}` : err.code === 'ETIMEDOUT' ? 'timed out' : `exit status ${err.status}`);
    throw fail(`failed (${detail})`, `run "echo ${helperServerUrl(registry)} | ${program} get" to see why, or log in again`);
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(out) as typeof answer;
    if (typeof answer !== 'object' || answer === null) throw new Error('not an object');
  } catch {
    throw fail('answered something that is not JSON', `check that ${program} speaks the docker-credential-helpers protocol`);
  }
  const { Username, Secret } = answer;
  if (typeof Username !== 'string' || typeof Secret !== 'string') throw fail('answered without a string Username and Secret', `check that ${program} speaks the docker-credential-helpers protocol`);
  if (!Username && !Secret) return undefined;
  if (Username === '<token>') {
    throw fail('gave an identity token (OAuth refresh token), which stack does not support yet', `log in to ${registry} with a user name and password or access token (docker login -u NAME ${registry})`);
  }
  return { username: Username, password: Secret };
}

/** Where to look: the environment (HOME, DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, SUDO_USER, PATH) and the passwd file. */
export interface CredentialSources {
  env?: NodeJS.ProcessEnv;
  /** The user's home; by default the sudo invoker's passwd home, else os.homedir(). */
  home?: string;
  passwdFile?: string;
}

/** The home directory of `user` in the passwd file; undefined when it is not listed. */
export function passwdHome(user: string, passwdFile = '/etc/passwd'): string | undefined {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 7 && fields[0] === user && fields[5]) return fields[5];
  }
  return undefined;
}

/** The home whose config files are read: the sudo invoker's (SUDO_USER, when running as root) or our own. */
export function credentialsHome(env: NodeJS.ProcessEnv = process.env, passwdFile = '/etc/passwd'): string {
  const sudoUser = env.SUDO_USER;
  if (sudoUser && sudoUser !== 'root' && process.getuid?.() === 0) {
    const home = passwdHome(sudoUser, passwdFile);
    if (home) return home;
  }
  return env.HOME || os.homedir();
}

/** The credential files in the order they are read (see the top of this file). */
export function credentialFiles(sources: CredentialSources = {}): string[] {
  const env = sources.env ?? process.env;
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  const home = sources.home ?? credentialsHome(env, sources.passwdFile);
  const files = [dockerConfigPath(env, home)];
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(home, '.config', 'containers', 'auth.json'));
  return files;
}

/** Credentials for `registry` from the first file (or helper) that has some; undefined for anonymous access. */
export function findCredentials(registry: string, sources: CredentialSources = {}): RegistryCredentials | undefined {
  const env = sources.env ?? process.env;
  for (const file of credentialFiles(sources)) {
    const found = dockerConfigCredentials(registry, file, env);
    if (found) return found;
  }
  return undefined;
}

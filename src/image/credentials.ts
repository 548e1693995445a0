// Registry credentials from Docker's config file (`~/.docker/config.json`, or `$DOCKER_CONFIG/
// config.json`): the `auths` entries with a base64 `user:password` in `auth`. credsStore,
// credHelpers and podman's auth.json are not read yet.
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
export function dockerConfigCredentials(registry: string, file = dockerConfigPath()): RegistryCredentials | undefined {
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
  const auths = (config as { auths?: unknown } | null)?.auths;
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

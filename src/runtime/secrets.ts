// A service's secrets and configs as host files to bind read-only at their targets. A `file`
// source is the user's file itself, bound live (as compose binds it). An `environment` or
// `content` source becomes a file stack writes under the service's runtime folder, in a
// `secrets` folder of mode 0700, the file 0400 unless the reference gives a `mode`, owned by the
// reference's uid/gid or else by the user the service runs as (so a service that is not root
// can read it; compose writes such files 0444 root-owned inside the container). The value of a
// variable is read here, at start, and goes nowhere but that file (no record, no log).
import { closeSync, constants as fsConstants, fchmodSync, fchownSync, openSync, renameSync, writeSync } from 'node:fs';
import { chmod, mkdir, stat } from '../sys/fs-async.js';
import { join } from 'node:path';
import { randomHex } from '../sys/builtin.js';
import { UserError } from '../errors.js';
import type { Mount, Project, SecretDef, SecretKind, SecretMount, Service } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { serviceFiles } from '../state/service-files.js';
import { loadUserDb, resolveUser, type UserDb } from './user.js';

/** Mode of a file stack writes when the reference gives none. */
export const DEFAULT_SECRET_MODE = 0o400;

/** The folder of the files stack writes for one service (inside its runtime folder). */
export function secretFilesDir(roots: StateRoots, project: string, service: string): string {
  return join(serviceFiles(roots, project, service).dir, 'secrets');
}

/** Who owns a written file by default: the user the service runs as (root when none). */
function serviceOwner(service: Service, userDb: UserDb | undefined): { uid: number; gid: number } {
  if (service.imageRoot !== undefined) return { uid: service.imageRoot.identity.uid, gid: service.imageRoot.identity.gid };
  if (service.user === undefined) return { uid: 0, gid: 0 };
  const id = resolveUser(service.name, service.user, userDb ?? loadUserDb());
  return { uid: id.uid, gid: id.gid };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes `value` to `path` through a new file of mode 0600 renamed into place, then sets owner and mode. */
function writeSecretFile(path: string, value: string, owner: { uid: number; gid: number }, mode: number): void {
  const tmp = `${path}.${randomHex(6)}.tmp`;
  const fd = openSync(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
  try {
    const data = Buffer.from(value, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

async function valueOf(project: Project, service: Service, kind: SecretKind, ref: SecretMount, def: SecretDef): Promise<string> {
  if (def.source.type === 'content') return def.source.content;
  if (def.source.type === 'environment') {
    // Imported here: the spec loader's module (and the chunk it shares, 29 KB) is needed only by
    // a secret taken from a variable, not by every start.
    const { secretVariable } = await import('../spec/secrets.js');
    const value = secretVariable(project, def.source.variable);
    if (value === undefined) {
      throw new UserError('SECRET_VARIABLE_UNSET', `service "${service.name}": the variable ${def.source.variable} of ${kind} ${ref.source} is not set`, `set ${def.source.variable} in the environment of \`stack up\` or in the project's .env`);
    }
    return value;
  }
  throw new Error(`${kind} ${ref.source} has no value to write`);
}

/**
 * The service's secrets and configs as read-only binds (in spec order: secrets, then configs),
 * their files written first. `find` (a restart) keeps a file a first start wrote.
 */
export async function secretMounts(
  ctx: { readonly roots: StateRoots; readonly project: Project; readonly mode: 'make' | 'find'; readonly userDb?: UserDb | undefined },
  service: Service,
): Promise<Mount[]> {
  const out: Mount[] = [];
  const dir = secretFilesDir(ctx.roots, ctx.project.name, service.name);
  let made = false;
  for (const kind of ['secret', 'config'] as const) {
    const refs = (kind === 'secret' ? service.secrets : service.configs) ?? [];
    const defs = (kind === 'secret' ? ctx.project.secrets : ctx.project.configs) ?? {};
    for (const [i, ref] of refs.entries()) {
      const def = defs[ref.source];
      if (def === undefined) throw new Error(`service ${service.name}: ${kind} ${ref.source} is not in the project`);
      if (def.source.type === 'external') {
        throw new UserError('EXTERNAL_SECRET', `service "${service.name}": ${kind} ${ref.source} is external; stack has no ${kind} store to take it from`, `define it with \`file:\` or \`environment:\` instead`);
      }
      if (def.source.type === 'file') {
        out.push({ type: 'bind', source: def.source.path, target: ref.target, readOnly: true, createHostPath: false });
        continue;
      }
      if (!made) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await chmod(dir, 0o700);
        made = true;
      }
      const path = join(dir, `${kind}-${i}-${ref.source}`);
      if (!(ctx.mode === 'find' && (await exists(path)))) {
        const owner = { ...serviceOwner(service, ctx.userDb), ...(ref.uid !== undefined && { uid: ref.uid }), ...(ref.gid !== undefined && { gid: ref.gid }) };
        writeSecretFile(path, await valueOf(ctx.project, service, kind, ref, def), owner, ref.mode ?? DEFAULT_SECRET_MODE);
      }
      out.push({ type: 'bind', source: path, target: ref.target, readOnly: true, createHostPath: false });
    }
  }
  return out;
}

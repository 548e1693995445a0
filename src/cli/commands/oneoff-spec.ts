// The spec of a one-off (`stack run`): the service's, with the command line's overrides, no
// restart policy, no healthcheck, no published ports unless asked, and none of the service's
// names (its name, container_name, aliases, fixed addresses) unless --use-aliases. Pure.
import { isAbsolute } from 'node:path';
import { UserError } from '../../errors.js';
import { ONE_OFF_LABEL } from '../../planner/index.js';
import { hostPath } from '../../spec/mounts.js';
import { parseShortPort } from '../../spec/ports.js';
import type { Mount, PortMapping, Project, Service } from '../../spec/project.js';
import { splitWords } from '../../spec/shellwords.js';

/** What the command line changes of the service. */
export interface OneOffOverrides {
  /** The command after SERVICE; empty keeps the service's. */
  readonly command: readonly string[];
  /** `--entrypoint CMD` (split into words as compose splits a string entrypoint). */
  readonly entrypoint?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly workingDir?: string;
  /** `-v` entries, short syntax. */
  readonly volumes: readonly string[];
  /** `-p` entries, short syntax. */
  readonly publish: readonly string[];
  readonly servicePorts: boolean;
  readonly useAliases: boolean;
  readonly noDeps: boolean;
}

/** A compose container name: what `--name` may be (and at most 63 bytes: it is a DNS name). */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** `<service>-run-<6 hex>` from 3 random bytes, as compose names a one-off (shorter). */
export function generatedName(service: string, random: Buffer): string {
  return `${service}-run-${random.subarray(0, 3).toString('hex')}`;
}

/** A UserError unless `name` can name a one-off: a valid name no service nor recorded one-off has. */
export function checkOneOffName(name: string, project: Project, taken: readonly string[]): void {
  if (!NAME.test(name)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack run: --name ${name} is not a valid name`, 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63');
  }
  if (project.services[name]) {
    throw new UserError('RUN_NAME_TAKEN', `stack run: "${name}" is the name of a service of project ${project.name}`, 'give the one-off another --name');
  }
  if (taken.includes(name)) {
    throw new UserError('RUN_NAME_TAKEN', `stack run: a one-off named "${name}" already exists in project ${project.name}`, '`stack down` removes it, or give another --name');
  }
}

function bad(message: string, hint: string): UserError {
  return new UserError('CLI_BAD_ARGUMENTS', `stack run: ${message}`, hint);
}

/** One `-v` entry: `SOURCE:TARGET[:ro|rw]` (a path binds a host folder, a name a project volume) or `TARGET` (anonymous). */
export function parseVolumeOption(text: string, project: Project, env: Readonly<Record<string, string | undefined>>): Mount {
  const parts = text.split(':');
  const hint = 'e.g. -v ./data:/data, -v cache:/cache:ro or -v /scratch';
  if (parts.length > 3 || parts.some((p) => p === '')) throw bad(`-v ${text} is not SOURCE:TARGET[:ro]`, hint);
  const [first, second, mode = 'rw'] = parts as [string, string?, string?];
  const target = second ?? first;
  if (!isAbsolute(target)) throw bad(`-v ${text}: target ${target} is not an absolute path`, hint);
  if (mode !== 'ro' && mode !== 'rw') throw bad(`-v ${text}: mode ${mode} is not ro or rw`, hint);
  const readOnly = mode === 'ro';
  if (second === undefined) return { type: 'volume', target, readOnly };
  if (/^[./~]/.test(first)) {
    const source = hostPath(first, { workingDir: project.workingDir, env: env as Record<string, string> });
    return { type: 'bind', source, target, readOnly, createHostPath: true };
  }
  if (!project.volumes[first]) {
    throw bad(`-v ${text}: volume ${first} is not declared in the spec`, 'declare it under the top-level `volumes:`, or write ./' + first + ' for a folder');
  }
  return { type: 'volume', source: first, target, readOnly };
}

/** `-p` entries as port mappings (127.0.0.1 unless an address is given, as in the spec). */
export function parsePublishOptions(entries: readonly string[]): PortMapping[] {
  return entries.flatMap((entry) => {
    const parsed = parseShortPort(entry);
    if (!parsed.ok) throw bad(`-p ${entry}: ${parsed.reason}`, 'e.g. -p 8080:80 or -p 127.0.0.1:5432:5432');
    return parsed.ports;
  });
}

/** The one-off `name` of `service`, as it runs (its stored spec). */
export function oneOffService(service: Service, name: string, o: OneOffOverrides, mounts: readonly Mount[]): Service {
  let entrypoint = service.entrypoint;
  if (o.entrypoint !== undefined) {
    const split = splitWords(o.entrypoint);
    if (!split.ok) throw bad(`--entrypoint ${o.entrypoint}: ${split.reason}`, 'quote it as a shell would');
    entrypoint = split.words;
  }
  const networks = Object.fromEntries(
    Object.entries(service.networks).map(([key, n]) => [
      key,
      { aliases: o.useAliases ? [...new Set([service.name, ...(service.containerName ? [service.containerName] : []), ...n.aliases])] : [], priority: n.priority },
    ]),
  );
  // One copy, whatever the service's scale; none of a replica's marks.
  const { containerName: _name, scale: _scale, replica: _replica, ...rest } = service;
  return {
    ...rest,
    name,
    hostname: service.hostname === service.name ? name : service.hostname,
    entrypoint,
    command: o.command.length > 0 ? [...o.command] : service.command,
    environment: { ...service.environment, ...o.env },
    ...(o.user !== undefined && { user: o.user }),
    ...(o.workingDir !== undefined && { workingDir: o.workingDir }),
    volumes: [...service.volumes.filter((m) => !mounts.some((x) => x.target === m.target)), ...mounts],
    ports: o.servicePorts ? [...service.ports, ...parsePublishOptions(o.publish)] : parsePublishOptions(o.publish),
    networks,
    dependsOn: o.noDeps ? {} : service.dependsOn,
    healthcheck: null,
    restart: { kind: 'no' },
    develop: null,
    labels: { ...service.labels, [ONE_OFF_LABEL]: service.name },
  };
}

// `stack build [SERVICE...]`, and the builds `up`, `create`, `run` and `watch` make first
// (ready-images.ts): each service with `build:` gets its image built from its context into the
// image store (src/build), named by its `image:` or, as compose names it, `<project>-<service>`.
// A build step's lines go to stderr as they come: `[web 3/7] RUN npm ci`, then its output.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { UserError } from '../../errors.js';
import type { Project, Service } from '../../spec/project.js';
import { stateRoots, type StateRoots } from '../../state/paths.js';
import { withDependencies } from '../../planner/targets.js';
import { defaultImageName } from '../../spec/built-image.js';
import { builtLocally, checkRunnable } from '../../planner/runnable.js';
import { registryTimeoutMs } from './registry-timeout.js';

const HELP = `Usage: stack build [OPTIONS] [SERVICE...]

Build the images of the services that have build: (all of them when none is named) into the
image store, from their Dockerfile and context.

Options:
      --build-arg KEY=VALUE  A build argument (repeatable), over the spec's build.args
      --no-cache             Run every step again (do not use the build cache)
      --pull                 Pull the base images again, even those in the store
      --push                 Push the built images that name their image: (as stack push)
      --with-dependencies    Also build the services the named ones depend on
  -q, --quiet                Print nothing but errors
  -h, --help                 Print this help
`;

/** When the services' images are built: `always` (stack build, up --build), `missing` (up's default), `never` (up --no-build). */
export type BuildWhen = 'always' | 'missing' | 'never';

/** How to build. */
export interface BuildChoices {
  readonly when: BuildWhen;
  readonly noCache?: boolean;
  readonly pull?: boolean;
  readonly quiet?: boolean;
  readonly buildArgs?: Readonly<Record<string, string>>;
}

/** The image a service with `build:` is built as: its `image:`, else `<project>-<service>` as compose names it (a replica: its service's). */
export function builtImageName(project: Pick<Project, 'name'>, service: Service): string {
  return service.image ?? defaultImageName(project, service);
}

/** The project with each service that has `build:` naming the image it is built as (what `plan` and `config --hash` resolve from the store, building nothing). */
export function withBuiltImageNames(project: Project): Project {
  const services = Object.fromEntries(Object.entries(project.services).map(([k, s]) => [k, !builtLocally(s) || s.image !== undefined ? s : { ...s, image: builtImageName(project, s) }]));
  return { ...project, services };
}

/** The Dockerfile of a build: its path (for messages and its .dockerignore) and text. */
async function dockerfileOf(service: Service): Promise<{ path: string; text: string }> {
  const build = service.build!;
  if (build.dockerfileInline !== undefined) return { path: join(build.context, 'Dockerfile'), text: build.dockerfileInline };
  const path = isAbsolute(build.dockerfile ?? '') ? build.dockerfile! : join(build.context, build.dockerfile ?? 'Dockerfile');
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('BUILD_DOCKERFILE_MISSING', `service "${service.name}": cannot read its Dockerfile ${path} (${code ?? String(e)})`,
      code === 'ENOENT' ? 'create it, or name another one in `build.dockerfile` (relative to the context)' : 'check the file\'s permissions');
  }
}

/**
 * Builds the images of `names` that have `build:` (when `choices.when` says: `missing` builds one
 * only when the store lacks it, or its pull_policy is `build`) and returns the project with each
 * such service naming its image, so image resolution takes it from the store like a pulled one.
 */
export async function buildServices(ctx: CommandContext, project: Project, names: readonly string[], roots: StateRoots, choices: BuildChoices): Promise<Project> {
  const buildable = names.filter((n) => builtLocally(project.services[n] ?? {}));
  if (buildable.length === 0) return project;
  const [{ ImageStore }, { parseImageReference }, { buildImage }, { complete }] = await Promise.all([
    import('../../image/store.js'),
    import('../../image/reference.js'),
    import('../../build/builder.js'),
    import('../../image/resolve.js'),
  ]);
  const store = ImageStore.forRoots(roots);
  const services = { ...project.services };
  const out = ctx.stderr;
  const say = (line: string): void => {
    if (!choices.quiet) out.write(`${line}\n`);
  };
  // Ctrl-C (SIGTERM, SIGHUP) ends the build: its RUN is killed with its cgroup and its folders
  // are removed; a second one changes nothing (it must not end the process before that is done).
  // What a SIGKILL leaves, the next build of the project removes (builder.ts sweepGoneBuilds).
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  process.on('SIGHUP', interrupt); // a closed terminal: Node would end at once, leaving the step running
  try {
    const built = new Set<string>();
    const bases = new Map<string, ReturnType<typeof baseImage>>();
    for (const key of buildable) {
      const service = project.services[key]!;
      const name = service.replica?.of ?? service.name;
      const image = builtImageName(project, service);
      const reference = parseImageReference(image);
      const names = [reference.canonical, ...(service.build!.tags ?? []).map((t) => parseImageReference(t).canonical)];
      services[key] = { ...service, image };
      if (built.has(reference.canonical)) continue; // another replica's, or another service's of the same image
      built.add(reference.canonical);
      const record = await store.getRecord(reference.canonical);
      const have = await complete(store, record);
      const when = choices.when === 'missing' && service.pullPolicy === 'build' ? 'always' : choices.when;
      if (when === 'never' || (when === 'missing' && have)) {
        if (!have) throw new UserError('IMAGE_NOT_PRESENT', `service "${name}": image ${image} has not been built`, `build it: \`stack build ${name}\`, or run up without --no-build`);
        continue;
      }
      const context = service.build!.context;
      const info = await stat(context).catch(() => undefined);
      if (!info?.isDirectory()) throw new UserError('BUILD_CONTEXT_MISSING', `service "${name}": its build context ${context} is not a folder`, 'point `build.context` at the folder the Dockerfile builds from');
      const dockerfile = await dockerfileOf(service);
      assertBuildSecrets(project, service);
      const started = performance.now();
      say(`building ${name} (${image}) from ${context}`);
      const result = await buildImage({
        store,
        project: project.name,
        service: name,
        context,
        dockerfile,
        ...(service.build!.target !== undefined && { target: service.build!.target }),
        args: { ...service.build!.args, ...choices.buildArgs },
        labels: service.build!.labels ?? {},
        names,
        noCache: choices.noCache === true || service.build!.noCache === true,
        pull: choices.pull === true || service.build!.pull === true,
        network: service.build!.network ?? 'host',
        secrets: buildSecrets(project, service),
        baseImage: (base, pull) => {
          // Each base once per command (a FROM that two stages or two services name is pulled once with --pull).
          const key = `${base}\0${pull}`;
          let got = bases.get(key);
          if (got === undefined) bases.set(key, (got = baseImage(ctx, store, base, pull, choices.quiet === true)));
          return got;
        },
        onStep: (s) => say(`[${name}${s.stage !== undefined ? ` ${s.stage}` : ''} ${s.index}/${s.total}] ${s.cached ? 'CACHED ' : ''}${s.text}`),
        onLine: (text) => say(`  | ${text}`),
        signal: controller.signal,
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      say(`built ${name}: ${reference.canonical} ${result.configDigest.slice(0, 19)} (${result.ran} steps run, ${result.cached} from the cache) in ${seconds}s`);
    }
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    process.removeListener('SIGHUP', interrupt);
  }
  return { ...project, services };
}

/**
 * Refuses a build whose `build.secrets` cannot be read: an external secret (no store to take it
 * from), a file that did not exist when the spec was loaded. Said only when the image is built:
 * an `up` that builds nothing needs none of them. An unset variable is said when a RUN reads it.
 */
function assertBuildSecrets(project: Project, service: Service): void {
  for (const ref of service.build?.secrets ?? []) {
    const source = project.secrets?.[ref.source]?.source;
    if (source?.type === 'external') throw new UserError('EXTERNAL_SECRET', `the build of "${service.name}" uses external secret \`${ref.source}\`; stack has no secret store to take it from`, 'define it with `file:` or `environment:` instead of `external: true`');
    if (source?.type === 'file' && source.missing) throw new UserError('SECRET_FILE_MISSING', `the build of "${service.name}" needs secret \`${ref.source}\`, whose file ${source.path} does not exist`, `create ${source.path}, or point \`secrets.${ref.source}.file\` at the right file`);
  }
}

/** The readers of the secrets a service's build may mount, by id (the top-level definitions': a file's bytes, a variable's value, inline content). */
function buildSecrets(project: Project, service: Service): Record<string, () => Promise<Buffer>> {
  const out: Record<string, () => Promise<Buffer>> = {};
  for (const ref of service.build?.secrets ?? []) {
    const def = project.secrets?.[ref.source];
    if (def === undefined) continue;
    const source = def.source;
    if (source.type === 'file') out[ref.id] = () => readFile(source.path);
    else if (source.type === 'content') out[ref.id] = async () => Buffer.from(source.content);
    else if (source.type === 'environment') {
      out[ref.id] = async () => {
        const { secretVariable } = await import('../../spec/secrets.js');
        const value = secretVariable(project, source.variable);
        if (value === undefined) throw new UserError('SECRET_VARIABLE_UNSET', `the build of "${service.name}" needs secret \`${ref.source}\`, whose variable ${source.variable} is not set`, `set ${source.variable} in the environment of \`stack build\` or in the project's .env`);
        return Buffer.from(value);
      };
    }
  }
  return out;
}

/** A base image's record: the store's, or pulled first (`pull`: always). */
async function baseImage(ctx: CommandContext, store: import('../../image/store.js').ImageStore, image: string, pull: boolean, quiet: boolean) {
  const [{ parseImageReference }, { pullImage }, { findCredentials }, { insecureRegistries }] = await Promise.all([
    import('../../image/reference.js'),
    import('../../image/pull.js'),
    import('../../image/credentials.js'),
    import('../../image/insecure.js'),
  ]);
  const reference = parseImageReference(image);
  const record = await store.getRecord(reference.canonical);
  const have = record !== undefined && (await Promise.all(record.layers.map((l) => store.hasLayer(l)))).every(Boolean);
  if (have && !pull) return record;
  const env = ctx.env as NodeJS.ProcessEnv;
  // Shown as up's and pull's pulls are (one line when done, or live on a terminal).
  const { pullMode, pullReporter, reportedPull } = await import('../render/pull-progress.js');
  const reporter = await pullReporter(ctx.stderr, quiet ? 'quiet' : pullMode('auto', ctx.stderr, env));
  try {
    await reportedPull(reporter, image, (onProgress) => {
      const credentials = findCredentials(reference.registry, { env });
      return pullImage(image, { store, insecure: insecureRegistries(env), timeoutMs: registryTimeoutMs(env), ...(credentials && { credentials }), onProgress });
    });
  } finally {
    await reporter.close();
  }
  const pulled = await store.getRecord(reference.canonical);
  if (pulled === undefined) throw new UserError('IMAGE_NOT_PRESENT', `base image ${image} is not in the image store after its pull`, 'pull it again: `stack pull`');
  return pulled;
}

/** `KEY=VALUE` of `--build-arg`; a bare KEY takes the value from the environment, as docker does. */
function parseBuildArgs(values: readonly string[], env: CommandContext['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === '') throw new UserError('CLI_BAD_ARGUMENTS', `stack build: --build-arg ${JSON.stringify(v)} has no name`, 'write --build-arg KEY=VALUE');
    const value = eq < 0 ? env[key] : v.slice(eq + 1);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Runs `stack build`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('build', ctx.args, {
    'build-arg': { type: 'string', multiple: true, default: [] },
    'no-cache': { type: 'boolean', default: false },
    pull: { type: 'boolean', default: false },
    push: { type: 'boolean', default: false },
    'with-dependencies': { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const project = await loadFromContext(ctx, values.quiet, positionals);
  assertServices(project, positionals, 'build');
  const named = positionals.length ? (values['with-dependencies'] ? withDependencies(project, positionals) : [...new Set(positionals)]) : Object.keys(project.services);
  const chosen = new Set(named);
  // What `up` would refuse of the named builds: a remote context (their secrets are checked as each is built).
  const remote = checkRunnable(project).filter((d) => d.code === 'BUILD_CONTEXT_REMOTE' && chosen.has(String(d.path?.[1])));
  if (remote.length > 0) {
    const { SpecError } = await import('../../spec/index.js');
    throw new SpecError(remote);
  }
  const buildable = named.filter((n) => builtLocally(project.services[n] ?? {}));
  if (buildable.length === 0) {
    if (!values.quiet) ctx.stderr.write(positionals.length ? 'nothing to build: the named services have no build: of a local folder\n' : 'nothing to build: no service has build: of a local folder\n');
    return 0;
  }
  await buildServices(ctx, project, buildable, stateRoots(ctx.env as NodeJS.ProcessEnv), {
    when: 'always',
    noCache: values['no-cache'],
    pull: values.pull,
    quiet: values.quiet,
    buildArgs: parseBuildArgs(values['build-arg'] as string[], ctx.env),
  });
  if (values.push) {
    const { pushServices } = await import('./push.js');
    await pushServices(ctx, project, buildable, { quiet: values.quiet, ignoreFailures: false });
  }
  return 0;
}

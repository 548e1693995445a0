// Loads the project the global options point at and prints the spec's warnings. The spec loader
// (yaml, zod: about half the CLI's modules) is imported only when a spec is read and no kept load
// fits (spec/cache.ts), so a command given -p NAME, or run again on an unchanged spec, never loads it.
import type { CommandContext } from './context.js';
import type { Project } from '../spec/project.js';
import { resolveProjectName } from '../spec/project-name.js';
import type { Diagnostic, LoadProjectOptions } from '../spec/index.js';

/** The spec loader's options from the command line; `targets`: the services the command names (their profiles are active too). */
export function loadOptions(ctx: CommandContext, targets: readonly string[] = []): LoadProjectOptions {
  return {
    cwd: ctx.cwd,
    env: ctx.env,
    files: ctx.global.files.length ? ctx.global.files : undefined,
    projectName: ctx.global.projectName,
    projectDirectory: ctx.global.projectDirectory,
    envFiles: ctx.global.envFiles.length ? ctx.global.envFiles : undefined,
    profiles: ctx.global.profiles,
    ...(targets.length > 0 && { targets }),
  };
}

/**
 * The project of this command line; warnings go to stderr unless `quiet`. `targets`: the services
 * the command names, enabled with their profiles (compose's explicitly targeted services).
 */
export async function loadFromContext(ctx: CommandContext, quiet = false, targets: readonly string[] = []): Promise<Project> {
  // A kept load when nothing it read changed (spec/cache.ts): yaml and zod are then never loaded.
  const { loadProjectCached } = await import('../spec/cache.js');
  const { project, warnings } = await loadProjectCached(loadOptions(ctx, targets));
  if (!quiet) await printLoadWarnings(ctx, warnings);
  return project;
}

/** A load's warnings (an unset variable, ...) on stderr, file:line:col first. */
export async function printLoadWarnings(ctx: Pick<CommandContext, 'cwd' | 'stderr'>, warnings: readonly Diagnostic[]): Promise<void> {
  if (warnings.length === 0) return;
  const { formatDiagnostic } = await import('../spec/diagnostics.js'); // only when there is something to say
  for (const w of warnings) ctx.stderr.write(formatDiagnostic(w, ctx.cwd) + '\n');
}

/**
 * The spec of a command that names `names`, some not up (quiet): loaded with them as targets, a
 * service behind a profile no active one enables being enabled once named. When that load fails
 * (the named services' profiles break it: a dependency behind another profile), the plain load,
 * with the targeted load's error as `hiding` when the plain one hides one of `names` behind a
 * profile (that error, `up`'s own, is then the one to report). Rejects with the plain load's error.
 */
export async function loadNaming(ctx: CommandContext, names: readonly string[]): Promise<{ project: Project; hiding?: unknown }> {
  try {
    return { project: await loadFromContext(ctx, true, names) };
  } catch (targeted) {
    const project = await loadFromContext(ctx, true);
    return names.some((n) => project.disabledServices?.includes(n)) ? { project, hiding: targeted } : { project };
  }
}

/** The project name alone: -p or COMPOSE_PROJECT_NAME when given (no spec file needed), else the spec's. */
export async function projectNameFromContext(ctx: CommandContext): Promise<string> {
  if (ctx.global.projectName !== undefined) return resolveProjectName({ flag: ctx.global.projectName });
  const variable = ctx.env.COMPOSE_PROJECT_NAME;
  if (variable) return resolveProjectName({ variable });
  return (await loadFromContext(ctx, true)).name;
}

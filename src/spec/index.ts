// The spec area's public face: load → validate → normalize into a Project, and print it back.
import { deepFreeze } from './freeze.js';
import { SpecError, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { loadRaw, type LoadOptions } from './load.js';
import { normalize } from './normalize.js';
import type { Project } from './project.js';
import type { RawSpec } from './raw.js';
import type { SeccompProfileReader } from './security-opt.js';
import { checkStructure } from './structure.js';

// Re-exports: other areas import the spec area from here only.
export type * from './project.js';
export type { KeyPath, Location, RawSpec } from './raw.js';
export type { LoadOptions } from './load.js';
export { formatDiagnostic, SpecError, sortDiagnostics, type Diagnostic } from './diagnostics.js';
export { configDocument, renderConfig, renderDocument, type ConfigFormat } from './config-output.js';
export { normalize } from './normalize.js';

/**
 * What `loadProject` needs: the loader's options plus the active profiles (`--profile`) and the
 * services the command names (`targets`: their profiles are active too, normalize.ts).
 */
export type LoadProjectOptions = LoadOptions & { profiles?: readonly string[]; targets?: readonly string[] };

/**
 * Loads the project the CLI's options point at. Throws SpecError carrying every diagnostic when
 * the spec has errors; otherwise returns the Project and the warnings to show.
 */
export async function loadProject(opts: LoadProjectOptions): Promise<{ project: Project; warnings: Diagnostic[] }> {
  const raw = await loadRaw(opts);
  const structural = await checkStructure(raw);
  // Services with structural errors are skipped, so the semantic errors of the others (ports,
  // references, cycles) come in the same report; errors elsewhere stop before normalizing.
  const broken = new Set<string>();
  let normalizable = true;
  for (const d of structural.filter(isError)) {
    if (d.path?.[0] === 'services' && typeof d.path[1] === 'string') broken.add(d.path[1]);
    else normalizable = false;
  }
  const semantic = normalizable ? normalize(raw, { profiles: opts.profiles ?? [], ...(opts.targets && { targets: opts.targets }), skip: broken, ...(await seccompReader(raw)) }) : undefined;
  const all = sortDiagnostics([...raw.warnings, ...structural, ...(semantic?.diagnostics ?? [])]);
  if (!semantic || all.some(isError)) throw new SpecError(all);
  return { project: deepFreeze(semantic.project), warnings: all };
}

const isError = (d: Diagnostic) => d.severity === 'error';

/**
 * The reader of `seccomp=FILE` profiles when a service has `security_opt` at all: it is written
 * with zod, which a spec without such a key (nearly all) then never loads.
 */
async function seccompReader(raw: RawSpec): Promise<{ seccompProfile?: SeccompProfileReader }> {
  const services = raw.doc.services;
  const some = typeof services === 'object' && services !== null && Object.values(services).some((s) => typeof s === 'object' && s !== null && Object.hasOwn(s, 'security_opt'));
  return some ? { seccompProfile: (await import('./seccomp-profile.js')).parseSeccompProfile } : {};
}

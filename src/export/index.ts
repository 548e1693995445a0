// `stack export kube`'s core: a normalized Project → Kubernetes manifests in apply order, with
// every change of meaning named (warnings) and what cannot be carried refused. It reads only
// the spec (and the files and variables its secrets and configs name): no root, no kernel.
import type { Project, Service } from '../spec/index.js';
import { UserError } from '../errors.js';
import { defaultImageName } from '../spec/built-image.js';
import type { ExportContext, ExportOptions } from './context.js';
import { jobWaiterObjects, oneShots } from './dependencies.js';
import { projectLabels } from './labels.js';
import { applyOrder, type KubeObject } from './manifest.js';
import { isDnsLabel, nameAll, toDnsLabel, type Names } from './naming.js';
import { refuseNetworkMode } from './namespaces.js';
import { networkPolicies } from './network-policies.js';
import { reachWarnings } from './reach.js';
import { secretObjects } from './secrets.js';
import { HEADLESS_SUFFIX, PUBLISHED_SUFFIX, servicesOf } from './services.js';
import { Findings, refusalError, type ExportWarning } from './warnings.js';
import { claims, hasNamedVolume, isQuantity } from './volumes.js';
import { workload, type WorkloadKind } from './workloads.js';

export type { ExportOptions, PublishType } from './context.js';
export type { ExportWarning } from './warnings.js';
export type { KubeObject } from './manifest.js';
export { formatWarning, strictError } from './warnings.js';
export { renderStream, writeFolder, fileName } from './writer.js';

/** The manifests of an export and the changes of meaning it names. */
export interface KubeExport {
  /** In an order `kubectl apply -f` accepts. */
  readonly objects: readonly KubeObject[];
  readonly warnings: readonly ExportWarning[];
}

/** Longest service name before a suffix (`-published`, `-headless`) is added. */
const SERVICE_NAME_MAX = 63 - Math.max(PUBLISHED_SUFFIX.length, HEADLESS_SUFFIX.length);

/** Exports `project` as Kubernetes manifests; throws a UserError naming every refusal. */
export function exportKube(project: Project, options: ExportOptions): KubeExport {
  const findings = new Findings();
  if (options.volumeSize !== undefined && !isQuantity(options.volumeSize)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `--volume-size "${options.volumeSize}" is not a Kubernetes quantity`, 'write a size such as 512Mi or 10Gi');
  }
  if (options.namespace !== undefined && !isDnsLabel(options.namespace)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `--namespace "${options.namespace}" is not a valid namespace name`, 'lowercase letters, digits and -, starting with a letter, at most 63 characters');
  }
  // A service stack builds (a local build: without image:) runs the image stack names it: the registry is the user's to push to (workloads.ts says so).
  const services = selectServices(project, options.services).map((s) => (s.image === undefined && s.build?.context.startsWith('/') ? { ...s, image: defaultImageName(project, s) } : s));
  for (const s of services) {
    refuseUncarried(findings, s);
    refuseNetworkMode(findings, s);
  }
  const names = nameEverything(project, services, findings);
  const ctx: ExportContext = {
    project,
    services,
    names,
    namespace: options.namespace ?? toDnsLabel(project.name),
    options,
    findings,
  };
  if (findings.refusals.length) throw refusalError(findings.refusals);

  const objects: KubeObject[] = [];
  if (ctx.namespace !== 'default') {
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ctx.namespace, labels: projectLabels(project.name) } });
  }
  objects.push(...secretObjects(ctx), ...claims(ctx));
  const jobs = oneShots(ctx);
  const taken = new Set<string>(names.services.values());
  let waiter = false;
  for (const s of services) {
    const kind: WorkloadKind = jobs.has(s.name) ? 'Job' : s.global ? 'DaemonSet' : hasNamedVolume(ctx, s) ? 'StatefulSet' : 'Deployment';
    objects.push(...servicesOf(ctx, s, kind === 'StatefulSet', taken));
    const w = workload(ctx, s, kind);
    objects.push(w.object);
    waiter ||= w.waitsForJob;
  }
  objects.push(...jobWaiterObjects(ctx, waiter), ...networkPolicies(ctx));
  reachWarnings(ctx);
  if (findings.refusals.length) throw refusalError(findings.refusals);
  // Project-level warnings first, then by service, each service's in the order they were found.
  const warnings = [...findings.warnings].sort((a, b) => ((a.service ?? '') < (b.service ?? '') ? -1 : (a.service ?? '') > (b.service ?? '') ? 1 : 0));
  return { objects: applyOrder(objects), warnings };
}

/** The services named (with what they depend on), or all; sorted by name. */
function selectServices(project: Project, wanted: readonly string[]): Service[] {
  const all = project.services;
  if (!wanted.length) return Object.keys(all).sort().map((k) => all[k]!);
  const unknown = wanted.filter((w) => !all[w]);
  if (unknown.length) {
    throw new UserError('EXPORT_UNKNOWN_SERVICE', `no such service: ${unknown.join(', ')}`, `the services are: ${Object.keys(all).sort().join(', ')}`);
  }
  const chosen = new Set<string>();
  const visit = (name: string) => {
    if (chosen.has(name) || !all[name]) return;
    chosen.add(name);
    for (const dep of Object.keys(all[name]!.dependsOn)) visit(dep);
  };
  wanted.forEach(visit);
  return [...chosen].sort().map((k) => all[k]!);
}

/** Refuses what a cluster cannot run at all: a host program (no image), or a build of a context that is no folder here. */
function refuseUncarried(findings: Findings, s: Service): void {
  if (s.image !== undefined) return;
  if (s.build) {
    // stack builds a local context's image as <project>-<service> (workloads.ts says so); a remote one, nobody here.
    if (!s.build.context.startsWith('/')) findings.refuse(s.name, 'build', `builds from ${s.build.context}: a cluster pulls images, it does not build them`, 'build and push the image, then name it in image:');
  } else {
    findings.refuse(s.name, 'image', 'runs a program of this host (no image:): a pod runs an image', 'put the program in an image and name it in image:');
  }
}

/** Kubernetes names for services, volumes, secrets, configs and networks; a clash is refused. */
function nameEverything(project: Project, services: readonly Service[], findings: Findings): Names {
  const clash = (what: string) => ([a, b, name]: [string, string, string]) =>
    findings.refuse(undefined, `${what}.${b}`, `${what} "${a}" and "${b}" would both be named "${name}" in Kubernetes`, 'rename one of them');
  const s = nameAll(services.map((x) => x.name), SERVICE_NAME_MAX);
  s.clashes.forEach(clash('services'));
  const v = nameAll(Object.keys(project.volumes));
  v.clashes.forEach(clash('volumes'));
  const sec = nameAll(Object.keys(project.secrets ?? {}));
  sec.clashes.forEach(clash('secrets'));
  const conf = nameAll(Object.keys(project.configs ?? {}));
  conf.clashes.forEach(clash('configs'));
  const n = nameAll(Object.keys(project.networks));
  n.clashes.forEach(clash('networks'));
  // An external volume, secret or config is used by the name it has outside the project.
  const external = <T extends { external?: boolean; name: string }>(names: Map<string, string>, defs: Readonly<Record<string, T>>) => {
    for (const [k, d] of Object.entries(defs)) if (d.external) names.set(k, toDnsLabel(d.name));
  };
  external(v.names, project.volumes);
  const extSecret = (names: Map<string, string>, defs: Readonly<Record<string, { name: string; source: { type: string } }>> | undefined) => {
    for (const [k, d] of Object.entries(defs ?? {})) if (d.source.type === 'external') names.set(k, toDnsLabel(d.name));
  };
  extSecret(sec.names, project.secrets);
  extSecret(conf.names, project.configs);
  return { services: s.names, volumes: v.names, secrets: sec.names, configs: conf.names, networks: n.names };
}

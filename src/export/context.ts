// What every part of one export shares: the project, the services being exported, the names
// they get, the options and the findings.
import type { Project, Service } from '../spec/index.js';
import type { ObjectMeta } from './manifest.js';
import type { Names } from './naming.js';
import type { Findings } from './warnings.js';

/** How published ports leave the cluster (`--service-type`). */
export type PublishType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** The choices of one `stack export kube`. */
export interface ExportOptions {
  /** `--namespace`; the project name when absent. */
  readonly namespace?: string;
  /** `--service-type`: what a published port becomes. */
  readonly serviceType: PublishType;
  /** `--volume-size`: a claim's size when its volume has no `stack.export.size` label. */
  readonly volumeSize?: string;
  /** The services named on the command line (their dependencies come along); all when empty. */
  readonly services: readonly string[];
  /** Where secrets' and configs' `environment:` values are read (the CLI's environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One export in progress. */
export interface ExportContext {
  readonly project: Project;
  /** The exported services, sorted by name. */
  readonly services: readonly Service[];
  readonly names: Names;
  /** The namespace every object lives in. */
  readonly namespace: string;
  readonly options: ExportOptions;
  readonly findings: Findings;
}

/** Metadata in the export's namespace; empty label and annotation maps are left out. */
export function meta(
  ctx: ExportContext,
  name: string,
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>> = {},
): ObjectMeta {
  return {
    name,
    namespace: ctx.namespace,
    labels,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

/** The Kubernetes name of a compose service. */
export function serviceName(ctx: ExportContext, service: string): string {
  const name = ctx.names.services.get(service);
  if (name === undefined) throw new Error(`no Kubernetes name for service ${service}`);
  return name;
}

// Labels and annotations. Every object carries the `app.kubernetes.io/*` labels of its project;
// a service's objects also name the service, and its Service and NetworkPolicies select its pods
// by exactly those two labels. compose labels become annotations: a label value has rules
// (63 characters, a restricted alphabet) that compose's values do not.
import type { Findings } from './warnings.js';

/** The label naming the compose service a pod belongs to. */
export const SERVICE_LABEL = 'app.kubernetes.io/name';
/** The label naming the project (every object has it). */
export const PROJECT_LABEL = 'app.kubernetes.io/part-of';
/** The annotation keeping the compose service's own name when it had to be renamed. */
export const COMPOSE_NAME_ANNOTATION = 'stack.compose/service';

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True when `key` is a valid label or annotation key (`[prefix/]name`). */
export function isQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** `value` as a label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** The labels of every object of the project. */
export function projectLabels(project: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'stack', [PROJECT_LABEL]: labelValue(project) };
}

/** The labels that select one service's pods (what its Service and policies match). */
export function selectorLabels(project: string, service: string): Record<string, string> {
  return { [SERVICE_LABEL]: service, [PROJECT_LABEL]: labelValue(project) };
}

/** The labels of a service's objects and pods. */
export function serviceLabels(project: string, service: string): Record<string, string> {
  return { ...projectLabels(project), ...selectorLabels(project, service) };
}

/**
 * compose labels as annotations, keys sorted; a key Kubernetes refuses is named and left out.
 * `where` is the compose key the labels come from (`labels`, `volumes.data.labels`).
 */
export function labelAnnotations(
  labels: Readonly<Record<string, string>>,
  findings: Findings,
  service: string | undefined,
  where: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    if (isQualifiedKey(key)) out[key] = labels[key]!;
    else findings.warn(service, `${where}.${key}`, 'not a valid Kubernetes annotation key ([prefix/]name, name at most 63 characters of [A-Za-z0-9_.-]): left out');
  }
  return out;
}

// The Kubernetes objects the exporter writes, typed as far as it fills them, and the order in
// which `kubectl apply -f` accepts them (a namespace before what lives in it, claims before pods).

/** Any Kubernetes object: apiVersion, kind, metadata and the rest of its fields. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/** The metadata every exported object carries. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Kinds in apply order: what others refer to comes first. */
export const KIND_ORDER: readonly string[] = [
  'Namespace',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'StatefulSet',
  'DaemonSet',
  'Deployment',
  'Job',
  'NetworkPolicy',
];

/** Objects sorted by kind (apply order), then by name. */
export function applyOrder(objects: readonly KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject) => {
    const i = KIND_ORDER.indexOf(o.kind);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b) || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

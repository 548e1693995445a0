// `volumes_from`: the volumes of other services of the project mounted into this one as well, as
// Docker copies another container's mounts: named and anonymous volumes and binds (not tmpfs,
// which belong to one process), each read-only with `:ro`, else as the other service mounts it;
// the other service's own volumes_from come along; a target this service mounts itself wins.
// Pure: mounts.ts resolves each one as the service that owns it (its anonymous volumes are that
// service's records: it started first, an implicit dependency).
import type { Mount, Project, Service } from '../spec/project.js';

/** The mounts `service` takes from others, each with the service whose mount it is. */
export function volumesFromMounts(project: Project, service: Service): [Service, Mount][] {
  const out: [Service, Mount][] = [];
  const targets = new Set(service.volumes.map((m) => m.target));
  const visit = (name: string, readOnly: boolean, seen: Set<string>): void => {
    const owner = project.services[name];
    if (!owner || seen.has(name)) return;
    seen.add(name);
    for (const mount of owner.volumes) {
      if (mount.type === 'tmpfs' || targets.has(mount.target)) continue;
      targets.add(mount.target);
      out.push([owner, readOnly ? { ...mount, readOnly: true } : mount]);
    }
    for (const v of owner.volumesFrom ?? []) visit(v.service, readOnly || v.mode === 'ro', seen);
  };
  for (const v of service.volumesFrom ?? []) visit(v.service, v.mode === 'ro', new Set([service.name]));
  return out;
}

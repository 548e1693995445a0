// The name of the image stack builds for a service with `build:` and no `image:`, as compose
// names it: `<project>-<service>` (`stack build`, `up`; `stack export kube` writes the same).
import type { Project, Service } from './project.js';

/** compose's name of an image built for a service without `image:` (a replica: its service's). */
export function defaultImageName(project: Pick<Project, 'name'>, service: Pick<Service, 'name' | 'replica'>): string {
  return `${project.name}-${service.replica?.of ?? service.name}`.toLowerCase();
}

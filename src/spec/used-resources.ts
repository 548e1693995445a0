// What a project's services use of its top-level networks, secrets and configs: the loader leaves
// out the rest (normalize.ts), and `config SERVICE...` what the printed services do not use. A
// module of its own, without the loader's imports, for `config`, which a kept load runs without
// them.
import type { Service } from './project.js';

/** The networks, secrets and configs `services` use. */
export function usedResources(services: readonly Service[]): { networks: Set<string>; secrets: Set<string>; configs: Set<string> } {
  return {
    networks: new Set(services.flatMap((s) => Object.keys(s.networks))),
    secrets: new Set(services.flatMap((s) => [...(s.secrets ?? []), ...(s.build?.secrets ?? [])].map((m) => m.source))),
    configs: new Set(services.flatMap((s) => (s.configs ?? []).map((m) => m.source))),
  };
}

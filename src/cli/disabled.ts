// The disabled services an `up`, `run` or `plan` keeps (planner/disabled.ts), with the project as
// last applied read only when some are there.
import { UserError } from '../errors.js';
import { disabledThere, withDisabledKept, type WithDisabled } from '../planner/disabled.js';
import type { LiveState } from '../planner/live.js';
import type { Project } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { readSnapshot } from '../state/snapshot.js';

/**
 * `project` with the services it disables that are there, as last applied; none read when none
 * is there. A kept service that runs and publishes a host port an enabled service publishes (or
 * has its container_name) is refused, as compose's start of the second would fail: one of them
 * has to give it up first.
 */
export async function keepDisabled(project: Project, live: LiveState, roots: StateRoots): Promise<WithDisabled> {
  if (disabledThere(project, live).length === 0) return { project, kept: [] };
  const kept = withDisabledKept(project, live, (await readSnapshot(roots, project.name))?.project);
  for (const key of kept.kept) {
    if (live.services[key]?.process?.alive !== true) continue;
    const spec = kept.project.services[key]!;
    for (const other of Object.values(project.services)) {
      const port = spec.ports.find(
        (p) =>
          p.hostPort !== 0 &&
          other.ports.some((q) => q.hostPort === p.hostPort && q.protocol === p.protocol && (q.hostIp === p.hostIp || [q.hostIp, p.hostIp].some((ip) => ip === '0.0.0.0' || ip === '::'))),
      );
      const clash = port !== undefined ? `${port.hostIp}:${port.hostPort}/${port.protocol}` : spec.containerName !== undefined && spec.containerName === other.containerName ? `container_name ${spec.containerName}` : undefined;
      if (clash === undefined) continue;
      throw new UserError(
        'KEPT_SERVICE_CLASH',
        `${clash} is \`${other.name}\`'s in the spec, and \`${key}\` has it: it runs, and no active profile enables it, so up leaves it as it is`,
        `\`stack stop ${key}\` lets it go (or \`stack --profile ${spec.profiles[0] ?? '...'} up -d\` with the spec changed); then run this again`,
      );
    }
  }
  return kept;
}

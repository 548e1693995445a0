// What the launcher sets on the workload itself before exec (native/launcher/settings.h), as
// launch request pairs: `sysctls` (written in the service's own net/IPC namespaces), `ulimits`
// (setrlimit), `oom_score_adj` and `domainname`; and `group_add` resolved to gids.
import { UserError } from '../errors.js';
import type { Service } from '../spec/project.js';
import { sysctlKind } from '../spec/sysctl-kind.js';
import type { UserDb } from './user.js';

/** The request pairs for the service's sysctls, rlimits, OOM score and domain name. */
export function processSettingPairs(service: Service): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(service.sysctls ?? {})) pairs.push(['sysctl', `${name}=${value}`]);
  for (const [name, { soft, hard }] of Object.entries(service.ulimits ?? {})) pairs.push(['rlimit', `${name} ${soft} ${hard}`]);
  if (service.oomScoreAdj !== undefined) pairs.push(['oom_score_adj', String(service.oomScoreAdj)]);
  if (service.domainname !== undefined) pairs.push(['domainname', service.domainname]);
  return pairs;
}

/**
 * Refuses sysctls that would land in the host's namespaces: a `net.*` one when the service
 * uses the host's network namespace (Docker refuses it the same way).
 */
export function checkSysctlNamespaces(service: Service, netns: string): void {
  for (const name of Object.keys(service.sysctls ?? {})) {
    const kind = sysctlKind(name);
    if (kind.ok && kind.namespace === 'net' && netns === 'host') {
      throw new UserError(
        'SYSCTL_HOST_NAMESPACE',
        `service "${service.name}": sysctl ${name} would change the host: the service uses the host's network namespace`,
        'remove the net.* sysctls, or give the service its own network (no network_mode: host)',
      );
    }
  }
}

/** The gids of `group_add`: numbers as given, names looked up in `db` (the service's group file). */
export function addedGroups(service: Service, db: UserDb): number[] {
  return (service.groupAdd ?? []).map((g) => {
    if (/^\d+$/.test(g)) return Number(g);
    const entry = db.group.find((e) => e.name === g);
    if (entry === undefined) {
      const where = service.imageRoot !== undefined ? `the /etc/group of image ${service.image ?? ''}` : "this host's /etc/group";
      throw new UserError('GROUP_UNKNOWN', `service "${service.name}": group_add names group "${g}", which is not in ${where}`, 'name a group that exists there, or give its numeric gid');
    }
    return entry.gid;
  });
}

/** The launcher's `sysctl` or `rlimit` failure as an error the user can act on. */
export function settingError(service: Service, stage: 'sysctl' | 'rlimit', errno: string, detail: string): UserError {
  if (stage === 'sysctl') {
    const name = detail.replace(/=.*$/s, '');
    if (errno === 'ENOENT') {
      return new UserError('SYSCTL_UNKNOWN', `service "${service.name}": sysctl ${name} does not exist in the service's namespaces on this kernel`,
        'some net.* sysctls are host-wide (not namespaced) on this kernel: set them on the host, or remove them');
    }
    return new UserError('SYSCTL_REFUSED', `service "${service.name}": the kernel refused sysctl ${detail} (${errno})`, 'check the value: `sysctl` on the host shows its form');
  }
  return new UserError('ULIMIT_REFUSED', `service "${service.name}": the kernel refused ulimit ${detail.replace(' ', ' soft ').replace(/ (\S+)$/, ' hard $1')} (${errno})`,
    errno === 'EPERM' ? 'a hard limit above the kernel\'s maximum (for nofile: fs.nr_open) is refused; lower it' : 'check the soft and hard values');
}

// Which seccomp filter a service's processes run under, as Docker decides it: the default
// profile (default.ts), none for `seccomp=unconfined` or a `privileged: true` service that names
// no profile, or the profile file `security_opt` names (privileged or not). Resolved against the
// service's capability set, so cap_add SYS_ADMIN opens what Docker's opens with it.
import type { SeccompChoice } from '../../spec/project.js';
import type { SeccompProfile } from '../../spec/seccomp-profile.js';
import { DEFAULT_SECCOMP_PROFILE } from './default.js';
import { resolveSeccomp, type SeccompFilter, type SeccompHost } from './resolve.js';

export { compiledSeccompPairs, SECCOMP_COMPILER_PATH } from './compile.js';
export { DEFAULT_SECCOMP_PROFILE } from './default.js';
export { currentSeccompHost, resolveSeccomp, seccompRequestPairs, type SeccompFilter, type SeccompHost, type SeccompRule } from './resolve.js';

/** The filter of a service whose capability set is `caps`; undefined: none. Absent choices are the defaults. */
export function serviceSeccomp(
  service: { readonly seccomp?: SeccompChoice; readonly privileged?: boolean },
  caps: readonly string[],
  host?: SeccompHost,
): SeccompFilter | undefined {
  const choice = service.seccomp ?? { mode: 'default' };
  if (choice.mode === 'unconfined') return undefined;
  if (choice.mode === 'file') return resolvedOnce(choice.profile, caps, host);
  if (service.privileged) return undefined;
  return resolvedOnce(DEFAULT_SECCOMP_PROFILE, caps, host);
}

/**
 * Filters resolved already, by profile object, capability set and host: the services of a run
 * that share a profile and capabilities (most of them) share one filter object, which
 * compiledSeccompPairs then answers from its own memo. Resolving walks the profile's ~400
 * syscall entries: ~0.15 ms a launch, profiled in an `up -d` of 20. A filter is never changed.
 */
const resolved = new WeakMap<SeccompProfile, Map<string, SeccompFilter | undefined>>();

function resolvedOnce(profile: SeccompProfile, caps: readonly string[], host?: SeccompHost): SeccompFilter | undefined {
  let byKey = resolved.get(profile);
  if (byKey === undefined) resolved.set(profile, (byKey = new Map()));
  const key = `${caps.join(',')}\0${host === undefined ? '' : `${host.arch} ${host.kernel.join('.')}`}`;
  if (!byKey.has(key)) byKey.set(key, resolveSeccomp(profile, caps, host));
  return byKey.get(key);
}

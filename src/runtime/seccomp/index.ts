// Which seccomp filter a service's processes run under, as Docker decides it: the default
// profile (default.ts), none for `seccomp=unconfined` or a `privileged: true` service that names
// no profile, or the profile file `security_opt` names (privileged or not). Resolved against the
// service's capability set, so cap_add SYS_ADMIN opens what Docker's opens with it.
import type { SeccompChoice } from '../../spec/project.js';
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
  if (choice.mode === 'file') return resolveSeccomp(choice.profile, caps, host);
  if (service.privileged) return undefined;
  return resolveSeccomp(DEFAULT_SECCOMP_PROFILE, caps, host);
}

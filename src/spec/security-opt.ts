// A service's `security_opt:` as Docker reads it (`KEY=VALUE`, or the older `KEY:VALUE`):
// `seccomp=unconfined`, `seccomp=builtin`, `seccomp=FILE` (a profile in Docker's JSON format,
// relative to the project folder) and `no-new-privileges[=true]` (stack sets no_new_privs on every
// service anyway). SELinux labels and AppArmor profiles change nothing here (a warning); other
// options are errors that say what stack has.
import { readText } from './fs.js';
import { hostPath, type MountContext } from './mounts.js';
import type { SeccompChoice } from './project.js';
import type { KeyPath } from './raw.js';
import type { ParsedProfile } from './seccomp-profile.js';

/**
 * Reads the text of a `seccomp=FILE` profile: seccomp-profile.ts parseSeccompProfile. Given by
 * the caller (normalize.ts NormalizeOptions), so that loading a spec without such a profile
 * never loads zod, which that check is written in.
 */
export type SeccompProfileReader = (text: string) => ParsedProfile;

/** What `security_opt` decides for a service. */
export interface SecurityOptions {
  /** The entries as written, for `stack config`. */
  readonly securityOpt: readonly string[];
  readonly seccomp: SeccompChoice;
}

const KNOWN = 'seccomp=unconfined, seccomp=builtin, seccomp=FILE or no-new-privileges';

/** What securityOptions reads besides the entries. */
type SecurityContext = Pick<MountContext, 'report' | 'workingDir' | 'env'> & { readonly seccompProfile?: SeccompProfileReader | undefined };

/** Reads `security_opt`; problems go to `ctx.report` (the seccomp choice is then the default). */
export function securityOptions(
  given: readonly string[] | undefined,
  at: (...rest: (string | number)[]) => KeyPath,
  ctx: SecurityContext,
): SecurityOptions {
  let seccomp: SeccompChoice = { mode: 'default' };
  (given ?? []).forEach((entry, i) => {
    const path = at('security_opt', i);
    const cut = entry.search(/[=:]/);
    const key = cut < 0 ? entry : entry.slice(0, cut);
    const value = cut < 0 ? undefined : entry.slice(cut + 1);
    if (key === 'no-new-privileges') {
      if (value === undefined || value === 'true') return;
      if (value === 'false') {
        ctx.report.warn(path, 'NO_NEW_PRIVILEGES', 'stack sets no_new_privs on every service; `no-new-privileges:false` changes nothing', {
          hint: 'remove the entry: a setuid program cannot gain privileges in a stack service',
        });
        return;
      }
      ctx.report.error(path, 'BAD_SECURITY_OPT', `no-new-privileges takes true or false, not "${value}"`, { expected: 'no-new-privileges or no-new-privileges=true' });
      return;
    }
    if (key === 'seccomp') {
      if (!value) {
        ctx.report.error(path, 'BAD_SECURITY_OPT', 'seccomp needs a value', { expected: 'seccomp=unconfined, seccomp=builtin or seccomp=PATH/TO/profile.json' });
      } else if (value === 'unconfined') seccomp = { mode: 'unconfined' };
      else if (value === 'builtin') seccomp = { mode: 'default' };
      else seccomp = readProfile(value, path, ctx) ?? seccomp;
      return;
    }
    if (key === 'label' || key === 'apparmor' || entry === 'disable') {
      ctx.report.warn(path, 'SECURITY_OPT_IGNORED', `\`${entry}\` changes nothing: stack loads no SELinux label or AppArmor profile`, {
        hint: 'what a service can do is set by its capabilities, its view and its seccomp profile (docs/isolation.md)',
      });
      return;
    }
    ctx.report.error(path, 'BAD_SECURITY_OPT', `unsupported security option \`${entry}\``, {
      expected: KNOWN,
      hint: 'what a service sees and may do is described in docs/isolation.md',
    });
  });
  return { securityOpt: [...(given ?? [])], seccomp };
}

/** Reads and checks a profile file; reports and returns undefined when it is unusable. */
function readProfile(file: string, path: KeyPath, ctx: SecurityContext): SeccompChoice | undefined {
  const absolute = hostPath(file, ctx);
  let text: string;
  try {
    text = readText(absolute);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    ctx.report.error(path, 'SECCOMP_PROFILE', `cannot read the seccomp profile ${absolute} (${code})`, {
      hint: 'a relative path is under the project folder; write seccomp=unconfined to run without a filter',
    });
    return undefined;
  }
  if (!ctx.seccompProfile) throw new Error('normalize: a seccomp=FILE profile without NormalizeOptions.seccompProfile to read it');
  const parsed = ctx.seccompProfile(text);
  if (!parsed.ok) {
    ctx.report.error(path, 'SECCOMP_PROFILE', `seccomp profile ${absolute}: ${parsed.reason}`, {
      hint: "the profile is Docker's JSON format: defaultAction, syscalls[{names, action, args}] ...",
    });
    return undefined;
  }
  return { mode: 'file', path: absolute, profile: parsed.profile };
}

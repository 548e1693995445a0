// compose's lifecycle hooks: a service's `post_start` commands run in it right after it started,
// its `pre_stop` commands right before it is stopped, each as `stack exec` would run it (the
// service's namespaces, root, environment, user and capabilities; the hook's own user,
// privileged, working_dir and environment on top). As compose does: a post_start hook that fails
// fails the start (the service keeps running; `up` reports the hook's exit and output); a
// pre_stop hook that fails is reported and the service is stopped anyway.
import { UserError } from '../../errors.js';
import type { UserDb } from '../../runtime/index.js';
import type { Service, WatchExec } from '../../spec/project.js';
import { serviceRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';

/** Bytes of a hook's output kept for its report. */
const OUTPUT_BYTES = 16 * 1024;

/** The image's users and groups for an image service (a hook's `user:` resolves there), else none (the host's). */
async function hookUserDb(ctx: RunContext, spec: Service): Promise<UserDb | undefined> {
  if (spec.imageRoot === undefined || spec.image === undefined) return undefined;
  const [{ loadLayeredUserDb }, { imageLayerDirs }] = await Promise.all([import('../../image/layered.js'), import('../../image/paths.js')]);
  return loadLayeredUserDb(imageLayerDirs(ctx.roots, spec.imageRoot), spec.image);
}

/** Runs `which` hooks of `spec` in its running process; returns why the first failed, or undefined. */
async function runHooks(ctx: RunContext, spec: Service, which: 'post_start' | 'pre_stop', signal?: AbortSignal): Promise<string | undefined> {
  const hooks = hooksOf(spec, which);
  if (hooks.length === 0) return undefined;
  // The runtime's exec, loaded by the first hook: a stop (a `down`) of services without hooks
  // runs on the runtime's second API alone (runtime/control.ts).
  const [{ execInService, execTargetOf }, record] = await Promise.all([import('../../runtime/index.js'), serviceRecords.read(ctx.roots, ctx.project.name, spec.name)]);
  const target = record && execTargetOf(record, spec);
  if (!target) return `service "${spec.name}" is not running`;
  const userDb = hooks.some((h) => h.user !== undefined) ? await hookUserDb(ctx, spec) : undefined;
  for (const hook of hooks) {
    const result = await execInService(target, hook.command, {
      env: hook.environment,
      ...(hook.user !== undefined && { user: hook.user }),
      ...(userDb !== undefined && { userDb }),
      ...(hook.workingDir !== undefined && { workingDir: hook.workingDir }),
      ...(hook.privileged && { privileged: true }),
      ...(signal !== undefined && { signal }),
      maxOutputBytes: OUTPUT_BYTES,
    });
    if (result.exitCode !== 0) {
      const how = result.exitCode === null ? `was ended by ${result.signal ?? 'a signal'}` : `exited with status ${result.exitCode}`;
      const output = `${result.stdout}${result.stderr}`.trim();
      return `${which} hook ${JSON.stringify(hook.command.join(' '))} of service "${spec.name}" ${how}${output ? `: ${output.slice(-2000)}` : ''}`;
    }
  }
  return undefined;
}

/** After a start: the service's post_start hooks; a failure is a UserError (the service keeps running, as with compose). */
export async function runPostStart(ctx: RunContext, spec: Service, signal?: AbortSignal): Promise<void> {
  const failed = await runHooks(ctx, spec, 'post_start', signal);
  if (failed !== undefined) throw new UserError('HOOK_FAILED', failed, 'fix the hook\'s command (`stack exec` runs it the same way); the service itself was started');
}

/** The hooks of `which` of `spec` (none for a service that left the project). */
function hooksOf(spec: Service | undefined, which: 'post_start' | 'pre_stop'): readonly WatchExec[] {
  return (which === 'post_start' ? spec?.postStart : spec?.preStop) ?? [];
}

/** Whether `spec` has hooks of `which` (a stop without pre_stop hooks does not wait for them: stop.ts). */
export function hasHooks(spec: Service | undefined, which: 'post_start' | 'pre_stop'): boolean {
  return hooksOf(spec, which).length > 0;
}

/** Before a stop: the service's pre_stop hooks; a failure is a notice, and the stop goes on. */
export async function runPreStop(ctx: RunContext, spec: Service | undefined): Promise<void> {
  if (spec === undefined) return; // a service that left the project: its hooks went with it
  const failed = await runHooks(ctx, spec, 'pre_stop');
  if (failed !== undefined) ctx.notice(`${failed}; stopping it anyway`);
}

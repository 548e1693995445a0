// How long a pull waits for a registry: STACK_REGISTRY_TIMEOUT (seconds), else 30 s.
import { UserError } from '../../errors.js';

/** Default registry timeout (connect, headers, between body chunks), in seconds. */
export const REGISTRY_TIMEOUT_S = 30;

/** `STACK_REGISTRY_TIMEOUT` (seconds) as ms, else the default; a bad value is a UserError. */
export function registryTimeoutMs(env: NodeJS.ProcessEnv): number {
  const text = env.STACK_REGISTRY_TIMEOUT;
  if (text === undefined || text === '') return REGISTRY_TIMEOUT_S * 1000;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new UserError('CLI_BAD_ARGUMENTS', `STACK_REGISTRY_TIMEOUT=${JSON.stringify(text)} is not a number of seconds`, `e.g. STACK_REGISTRY_TIMEOUT=60 (the default is ${REGISTRY_TIMEOUT_S})`);
  return Math.round(s * 1000);
}

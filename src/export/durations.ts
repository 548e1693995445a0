// Compose durations are milliseconds; Kubernetes counts whole seconds. A duration that is not a
// whole number of seconds is rounded up, and that is named.
import type { Findings } from './warnings.js';

/** `ms` as whole seconds (at least `min`), naming any rounding under `service`/`key`. */
export function seconds(ms: number, min: number, findings: Findings, service: string, key: string): number {
  const whole = Math.max(min, Math.ceil(ms / 1000));
  if (whole * 1000 !== ms) findings.warn(service, key, `${ms} ms becomes ${whole}s: Kubernetes counts whole seconds${min > 0 ? ` (at least ${min})` : ''}`);
  return whole;
}

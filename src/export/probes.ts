// A compose healthcheck → exec probes: readiness (a pod that fails it leaves its Service's
// endpoints, as an unhealthy peer is not waited for), liveness (named: Kubernetes restarts the
// container; compose only marks it unhealthy) and, with a start period, a startup probe.
import type { Healthcheck, Service } from '../spec/index.js';
import type { ExportContext } from './context.js';
import { seconds } from './durations.js';

/** The probe fields of a service's container (empty without a healthcheck). */
export function probes(ctx: ExportContext, service: Service): Record<string, unknown> {
  const hc = service.healthcheck;
  if (!hc) {
    if (service.healthcheckTimings && !service.healthcheckDisabled) {
      ctx.findings.warn(service.name, 'healthcheck', "timings without a test apply to the image's HEALTHCHECK, which Kubernetes does not run: no probe is written");
    }
    return {};
  }
  const f = ctx.findings;
  const exec = { command: probeCommand(hc) };
  const period = seconds(hc.intervalMs, 1, f, service.name, 'healthcheck.interval');
  const timeout = seconds(hc.timeoutMs, 1, f, service.name, 'healthcheck.timeout');
  const retries = Math.max(1, hc.retries);
  const probe = { exec, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: retries, successThreshold: 1 };
  f.warn(service.name, 'healthcheck', `also a liveness probe: Kubernetes restarts the container after ${retries} failed checks in a row; compose only marks it unhealthy`);
  const out: Record<string, unknown> = { readinessProbe: probe, livenessProbe: { ...probe } };
  if (hc.startPeriodMs > 0) {
    const startPeriod = seconds(hc.startPeriodMs, 1, f, service.name, 'healthcheck.start_period');
    const startInterval = seconds(hc.startIntervalMs, 1, f, service.name, 'healthcheck.start_interval');
    out.startupProbe = {
      exec,
      periodSeconds: startInterval,
      timeoutSeconds: timeout,
      failureThreshold: Math.ceil(startPeriod / startInterval) + retries,
      successThreshold: 1,
    };
  }
  return out;
}

/** The probe's command: `CMD` runs its words, `CMD-SHELL` its script under /bin/sh -c. */
export function probeCommand(hc: Healthcheck): string[] {
  const [kind, ...rest] = hc.test;
  return kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest;
}

// A service with nothing but compose's defaults: what a build's RUN step is launched as
// (src/build/run-step.ts) before its own fields are laid over it, and what launch tests start from.
import type { Service } from './project.js';

/** The service `name` with compose's defaults: no command, no ports, volumes or networks, the default stop signal and grace period, Docker's default seccomp filter. */
export function bareService(name: string): Service {
  return {
    name,
    entrypoint: null,
    command: null,
    environment: {},
    hostname: name,
    ports: [],
    expose: [],
    volumes: [],
    networks: {},
    extraHosts: [],
    dependsOn: {},
    healthcheck: null,
    healthcheckDisabled: false,
    restart: { kind: 'no' },
    stopSignal: 'SIGTERM',
    stopSignalSet: false,
    stopGracePeriodMs: 10_000,
    init: false,
    readOnly: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    devices: [],
    securityOpt: [],
    seccomp: { mode: 'default' },
    limits: {},
    develop: null,
    profiles: [],
    labels: {},
  };
}

// A validated RawSpec → the immutable Project: profiles applied, every default filled in,
// references between services, networks and volumes checked, dependency cycles named.
import { usedResources } from './used-resources.js';
import type { Diagnostic } from './diagnostics.js';
import { ipv4ToNumber, isAddress, parseSubnet, subnetContains } from './addresses.js';
import { findCycle } from './cycles.js';
import { listOrDict } from './environment.js';
import { activeProfiles, enabledServices, profilesOf } from './profiles.js';
import type { IpamConfig, Network, PortMapping, Project, Service, Volume } from './project.js';
import { portLabel, portsClash } from './ports.js';
import type { RawSpec } from './raw.js';
import { Report } from './report.js';
import type { SeccompProfileReader } from './security-opt.js';
import { suggest } from './suggest.js';
import type { NetworkSpec, Spec, VolumeSpec } from './schema.js';
import { buildSecretRefs, secretDefs, serviceSecretMounts } from './secrets.js';
import { normalizeService, sortKeys } from './service.js';
import { linkNamespaceOwners } from './namespace-modes.js';
import { resolveLinks } from './links.js';
import { checkSysctlModes } from './sysctls.js';
import { asBoolean, parseBoolean } from './units.js';
import { networkDriverOpts, volumeDriverOpts } from './driver-opts.js';

/** Options of `normalize`. */
export interface NormalizeOptions {
  /** Active profiles (`--profile`); COMPOSE_PROFILES from the environment when empty. */
  readonly profiles?: readonly string[];
  /**
   * The services the command names (`stack up SERVICE`, `stack run SERVICE`): the profiles of one
   * no active profile enables are active too, as the compose spec has it ("unless the service is
   * explicitly targeted by a command"): `stack run migrate` runs a `migrate` behind a profile.
   */
  readonly targets?: readonly string[];
  /** Services that failed validation: counted as existing, but not normalized. */
  readonly skip?: ReadonlySet<string>;
  /**
   * Reads a `seccomp=FILE` profile (seccomp-profile.ts parseSeccompProfile); needed when a
   * service names one (index.ts loadProject gives it when any service has `security_opt`).
   */
  readonly seccompProfile?: SeccompProfileReader;
}

/**
 * Normalizes a RawSpec whose structure `validate` accepted, except for the services in
 * `opts.skip` (so the semantic errors of the rest are reported in the same run).
 */
export function normalize(raw: RawSpec, opts: NormalizeOptions = {}): { project: Project; diagnostics: Diagnostic[] } {
  const spec = raw.doc as Spec;
  const report = new Report(raw);
  const project = raw.projectName;
  const all = spec.services ?? {};
  const active = activeProfiles(opts.profiles, raw.env);
  const targeted = (opts.targets ?? []).filter((t) => all[t] !== undefined && !enabledServices({ [t]: all[t] }, active).has(t));
  const enabled = enabledServices(all, [...active, ...targeted.flatMap((t) => profilesOf(all[t]))]);

  const declaredNetworks = spec.networks ?? {};
  const declaredVolumes = spec.volumes ?? {};
  const ctx = {
    report,
    workingDir: raw.workingDir,
    env: raw.env,
    volumes: new Set(Object.keys(declaredVolumes)),
    networks: new Set([...Object.keys(declaredNetworks), 'default']),
    seccompProfile: opts.seccompProfile,
  };

  const services: Record<string, Service> = {};
  for (const name of [...enabled].sort()) if (!opts.skip?.has(name)) services[name] = normalizeService(name, all[name]!, ctx);
  linkNamespaceOwners(services, all as Record<string, Record<string, unknown>>, report);
  resolveLinks(services, all, report);
  checkSysctlModes(services, report);

  const secrets = secretDefs('secret', spec, project, ctx);
  const configs = secretDefs('config', spec, project, ctx);
  for (const name of Object.keys(services)) {
    const b = buildSecretRefs(name, all[name]!, secrets, ctx);
    if (b.length > 0 && services[name]!.build !== undefined) services[name] = { ...services[name]!, build: { ...services[name]!.build!, secrets: b } };
    const s = serviceSecretMounts('secret', name, all[name]!, secrets, ctx);
    const c = serviceSecretMounts('config', name, all[name]!, configs, ctx);
    if (s.length > 0 || c.length > 0) services[name] = { ...services[name]!, ...(s.length > 0 && { secrets: s }), ...(c.length > 0 && { configs: c }) };
  }

  checkDependencies(services, all, enabled, report);

  const networks: Record<string, Network> = {};
  for (const [key, n] of Object.entries(declaredNetworks)) {
    networks[key] = network(project, key, n ?? {}, report);
    checkLinkLocalKey(key, n ?? {}, report);
  }
  const usesDefault = Object.values(services).some((s) => 'default' in s.networks);
  if (usesDefault && !networks.default) networks.default = network(project, 'default', {});

  checkAddresses(services, networks, spec, report);
  checkContainerNames(services, report);
  checkPublishedPorts(services, report);

  const volumes: Record<string, Volume> = {};
  for (const [key, v] of Object.entries(declaredVolumes)) volumes[key] = volume(project, key, v ?? {}, ctx);
  const disabled = Object.keys(all).filter((name) => !enabled.has(name)).sort();
  // A network, secret or config no enabled service uses is left out, as compose-go's
  // WithoutUnnecessaryResources leaves it: `config` does not print it and `up` makes no bridge or
  // file for it. A named volume stays: `stack run -v NAME:/path` mounts a declared one, which no
  // service may use (compose's run would mount a volume of that name outside the project).
  const used = usedResources(Object.values(services));
  for (const key of Object.keys(networks)) if (!used.networks.has(key)) delete networks[key];
  for (const key of Object.keys(secrets)) if (!used.secrets.has(key)) delete secrets[key];
  for (const key of Object.keys(configs)) if (!used.configs.has(key)) delete configs[key];
  // What was said of a secret or config left out (a missing file, an unset variable) concerns
  // nothing that runs: those warnings go with it.
  const leftOut = (d: Diagnostic): boolean =>
    d.severity === 'warning' && typeof d.path?.[1] === 'string' && ((d.path[0] === 'secrets' && secrets[d.path[1]] === undefined) || (d.path[0] === 'configs' && configs[d.path[1]] === undefined));
  const diagnostics = report.diagnostics.filter((d) => !leftOut(d));

  return {
    project: {
      name: project,
      workingDir: raw.workingDir,
      files: [...raw.files],
      services,
      ...(disabled.length > 0 && { disabledServices: disabled }),
      networks: sortKeys(networks),
      volumes: sortKeys(volumes),
      ...(Object.keys(secrets).length > 0 && { secrets: sortKeys(secrets) }),
      ...(Object.keys(configs).length > 0 && { configs: sortKeys(configs) }),
    },
    diagnostics,
  };
}

// Every dependency must name a service that runs; a required one disabled by profiles is an
// error (as in compose), an optional one is dropped with a warning; cycles are named.
function checkDependencies(services: Record<string, Service>, all: NonNullable<Spec['services']>, enabled: ReadonlySet<string>, report: Report): void {
  for (const s of Object.values(services)) {
    const deps = s.dependsOn as Record<string, Service['dependsOn'][string]>;
    for (const [dep, d] of Object.entries(deps)) {
      const list = all[s.name]!.depends_on;
      const at = ['services', s.name, 'depends_on', Array.isArray(list) ? list.indexOf(dep) : dep];
      if (enabled.has(dep)) continue;
      if (!all[dep]) {
        const near = suggest(dep, Object.keys(all));
        report.error(at, 'UNDEFINED_SERVICE', `\`${s.name}\` depends on \`${dep}\`, which is not a service of this spec`, {
          expected: `one of the services: ${Object.keys(all).join(', ')}`,
          found: `\`${dep}\``,
          hint: near ? `did you mean \`${near}\`?` : 'declare it under `services:` or remove the dependency',
        });
      } else if (d.required) {
        const profiles = profilesOf(all[dep]);
        report.error(at, 'DISABLED_DEPENDENCY', `\`${s.name}\` depends on \`${dep}\`, which no active profile enables`, {
          found: `\`${dep}\` has profiles ${profiles.join(', ')}`,
          hint: `add --profile ${profiles[0] ?? ''} or mark the dependency \`required: false\``,
        });
      } else {
        report.warn(at, 'SKIPPED_DEPENDENCY', `optional dependency \`${dep}\` is not enabled by any active profile and is skipped`);
        delete deps[dep];
      }
    }
  }
  // Waiting for a health that can never come would hang `up`: say so now. (A service with an
  // image may get its healthcheck from the image, which stack does not read.)
  for (const s of Object.values(services)) {
    for (const [dep, d] of Object.entries(s.dependsOn)) {
      const target = services[dep];
      if (d.condition === 'service_healthy' && target && target.healthcheck === null && target.image === undefined) {
        report.error(['services', s.name, 'depends_on', dep, 'condition'], 'NO_HEALTHCHECK', `\`${s.name}\` waits for \`${dep}\` to be healthy, but \`${dep}\` has no healthcheck`, {
          hint: `give \`${dep}\` a healthcheck, or use condition: service_started`,
        });
      }
    }
  }
  const edges = new Map(Object.values(services).map((s) => [s.name, Object.keys(s.dependsOn).filter((d) => services[d])]));
  const cycle = findCycle(edges);
  if (cycle) {
    report.error(['services', cycle[0]!, 'depends_on'], 'CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, {
      found: cycle.join(' -> '),
      hint: 'remove one of these depends_on entries',
    });
  }
}

// Subnets, gateways and static addresses must be real IPv4 and fit together; host IPs of ports
// and extra_hosts must be addresses (or host-gateway).
function checkAddresses(services: Record<string, Service>, networks: Record<string, Network>, spec: Spec, report: Report): void {
  for (const n of Object.values(networks)) {
    n.ipam.forEach((c, i) => {
      const at = ['networks', n.key, 'ipam', 'config', i];
      if (c.subnet !== undefined && !parseSubnet(c.subnet)) report.error([...at, 'subnet'], 'BAD_ADDRESS', `\`${c.subnet}\` is not an IPv4 subnet`, { expected: 'a subnet such as 10.5.0.0/24' });
      for (const key of ['gateway', 'ipRange'] as const) {
        const v = c[key];
        const specKey = key === 'ipRange' ? 'ip_range' : key;
        const ok = v === undefined || (key === 'gateway' ? ipv4ToNumber(v) !== undefined : parseSubnet(v) !== undefined);
        if (!ok) report.error([...at, specKey], 'BAD_ADDRESS', `\`${v}\` is not an IPv4 ${key === 'gateway' ? 'address' : 'range'}`, { expected: key === 'gateway' ? 'an address such as 10.5.0.1' : 'a range such as 10.5.0.128/25' });
      }
    });
  }
  for (const s of Object.values(services)) {
    for (const [key, attachment] of Object.entries(s.networks)) {
      if (attachment.ipv4Address === undefined) continue;
      const at = ['services', s.name, 'networks', key, 'ipv4_address'];
      const address = ipv4ToNumber(attachment.ipv4Address);
      const subnets = (networks[key]?.ipam ?? []).flatMap((c) => (c.subnet && parseSubnet(c.subnet) ? [parseSubnet(c.subnet)!] : []));
      if (address === undefined) report.error(at, 'BAD_ADDRESS', `\`${attachment.ipv4Address}\` is not an IPv4 address`, { expected: 'an address such as 10.5.0.7' });
      else if (networks[key]?.external && subnets.length === 0) continue; // its owner's subnet: checked by `up` (network/external.ts)
      else if (subnets.length === 0) {
        report.error(at, 'BAD_ADDRESS', `a static address needs a subnet on network \`${key}\``, { hint: `add \`ipam: {config: [{subnet: ...}]}\` to network \`${key}\`` });
      } else if (!subnets.some((sub) => subnetContains(sub, address))) {
        report.error(at, 'BAD_ADDRESS', `\`${attachment.ipv4Address}\` is outside the subnets of network \`${key}\``, { expected: `an address in ${networks[key]!.ipam.map((c) => c.subnet).filter(Boolean).join(', ')}` });
      }
    }
    const given = spec.services?.[s.name];
    s.extraHosts.forEach((h, i) => {
      if (h.ip !== 'host-gateway' && !isAddress(h.ip)) {
        const at = Array.isArray(given?.extra_hosts) ? ['services', s.name, 'extra_hosts', i] : ['services', s.name, 'extra_hosts', h.host];
        report.error(at, 'BAD_ADDRESS', `\`${h.ip}\` is not an IP address`, { expected: 'an IPv4 or IPv6 address, or host-gateway' });
      }
    });
    const hostIps = new Set(s.ports.map((p) => p.hostIp));
    for (const ip of hostIps) if (!isAddress(ip)) report.error(['services', s.name, 'ports'], 'BAD_ADDRESS', `host IP \`${ip}\` is not an IP address`, { expected: 'an address such as 127.0.0.1 or 0.0.0.0' });
  }
}

// Two mappings cannot listen on one host port (ports.ts portsClash: :: overlaps every address,
// 0.0.0.0 every IPv4 one), the rule the planner's clashOf has for services of other profiles.
function checkPublishedPorts(services: Record<string, Service>, report: Report): void {
  const taken: { service: string; port: PortMapping }[] = [];
  for (const s of Object.values(services)) {
    for (const p of s.ports) {
      const clash = taken.find((t) => portsClash(t.port, p));
      if (clash) {
        report.error(['services', s.name, 'ports'], 'PORT_CONFLICT', `${portLabel(p)} is published twice (\`${clash.service}\` and \`${s.name}\`)`, {
          hint: 'give one of them another host port, or leave the host port out to get a free one',
        });
      } else taken.push({ service: s.name, port: p });
    }
  }
}

// Two services cannot share a container_name (compose refuses it too).
function checkContainerNames(services: Record<string, Service>, report: Report): void {
  const owner = new Map<string, string>();
  for (const s of Object.values(services)) {
    if (s.containerName === undefined) continue;
    const first = owner.get(s.containerName);
    if (first) report.error(['services', s.name, 'container_name'], 'DUPLICATE_NAME', `\`${s.name}\` and \`${first}\` have the same container_name \`${s.containerName}\``);
    else owner.set(s.containerName, s.name);
  }
}

/** `x-stack-allow-link-local` must be a boolean: anything else would silently keep the block. */
function checkLinkLocalKey(key: string, n: NonNullable<NetworkSpec>, report: Report): void {
  const value = (n as Record<string, unknown>)['x-stack-allow-link-local'];
  if (value === undefined || parseBoolean(value).ok) return;
  report.error(['networks', key, 'x-stack-allow-link-local'], 'BAD_VALUE', `\`x-stack-allow-link-local\` must be true or false, not ${JSON.stringify(value)}`, {
    expected: 'true or false',
    hint: 'true lets this network\'s services reach 169.254.0.0/16 (the cloud metadata service); leave it out to keep that blocked',
  });
}

function network(project: string, key: string, n: NonNullable<NetworkSpec>, report?: Report): Network {
  const external = n.external === undefined ? false : typeof n.external === 'object' ? true : asBoolean(n.external, false);
  const legacyName = typeof n.external === 'object' ? n.external.name : undefined;
  return {
    key,
    name: n.name ?? legacyName ?? (external ? key : `${project}_${key}`),
    driver: 'bridge',
    internal: asBoolean(n.internal, false),
    external,
    ...(asBoolean((n as Record<string, unknown>)['x-stack-allow-link-local'], false) && { allowLinkLocal: true as const }),
    ipam: (n.ipam?.config ?? []).map(
      (c): IpamConfig => ({
        ...(c.subnet !== undefined ? { subnet: c.subnet } : {}),
        ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
        ...(c.ip_range !== undefined ? { ipRange: c.ip_range } : {}),
      }),
    ),
    labels: sortKeys(listOrDict(n.labels, () => '')),
    ...networkDriverOpts(key, n.driver_opts, external, report),
  };
}

function volume(project: string, key: string, v: NonNullable<VolumeSpec>, ctx: Parameters<typeof volumeDriverOpts>[3]): Volume {
  const external = v.external === undefined ? false : typeof v.external === 'object' ? true : asBoolean(v.external, false);
  const legacyName = typeof v.external === 'object' ? v.external.name : undefined;
  return {
    key,
    name: v.name ?? legacyName ?? (external ? key : `${project}_${key}`),
    external,
    labels: sortKeys(listOrDict(v.labels, () => '')),
    ...volumeDriverOpts(key, v.driver_opts, external, ctx),
  };
}

// One compose service → its container: command and args by compose's entrypoint/command rules,
// environment, working dir, user, capabilities, read_only, resources and probes. What has no
// container equivalent is named.
import type { Service } from '../spec/index.js';
import type { ExportContext } from './context.js';
import { listedPorts, portName } from './ports.js';
import { probes } from './probes.js';

/**
 * A string Kubernetes will not expand: it replaces `$(VAR)` in command, args and env values
 * with another variable's value, which compose never does; `$$(` stays a literal `$(`.
 */
export function literal(value: string): string {
  return value.replace(/\$\(/g, '$$$$(');
}

/** What Kubernetes (1.27) accepts as an environment variable's name. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The main container of a service (its volume mounts are added by the caller). */
export function container(ctx: ExportContext, service: Service, name: string): Record<string, unknown> {
  const f = ctx.findings;
  const c: Record<string, unknown> = { name, image: service.image };
  const pull = pullPolicy(ctx, service);
  if (pull) c.imagePullPolicy = pull;
  // compose: entrypoint replaces the image's ENTRYPOINT (and drops its CMD); command replaces
  // CMD. Kubernetes: command replaces ENTRYPOINT (and drops CMD); args replaces CMD. The same.
  if (service.entrypoint !== null) {
    if (service.entrypoint.length) c.command = service.entrypoint.map(literal);
    else f.warn(service.name, 'entrypoint', "an empty entrypoint (compose: none at all) cannot be written: Kubernetes reads an empty command as the image's ENTRYPOINT");
  }
  if (service.command !== null) c.args = service.command.map(literal);
  const env = Object.keys(service.environment).sort().filter((k) => {
    if (ENV_NAME.test(k)) return true;
    f.refuse(service.name, `environment.${k}`, 'not a variable name Kubernetes accepts (letters, digits, _, - and ., not starting with a digit)', 'rename the variable');
    return false;
  });
  if (env.length) c.env = env.map((k) => ({ name: k, value: literal(service.environment[k]!) }));
  if (service.workingDir !== undefined) c.workingDir = service.workingDir;
  // compose's tty and stdin_open are the container's own fields.
  if (service.tty) c.tty = true;
  if (service.stdinOpen) c.stdin = true;
  const ports = listedPorts(service);
  if (ports.length) c.ports = ports.map((p) => ({ name: portName(p), containerPort: p.port, protocol: p.protocol }));
  const security = securityContext(ctx, service);
  if (Object.keys(security).length) c.securityContext = security;
  const resources = limits(ctx, service);
  if (resources) c.resources = resources;
  Object.assign(c, probes(ctx, service));
  const lifecycle = hooks(ctx, service);
  if (lifecycle) c.lifecycle = lifecycle;
  if (service.runtime !== undefined) {
    f.warn(service.name, 'runtime', `${service.runtime} left out: a pod's runtime is a RuntimeClass of the cluster (spec.runtimeClassName), which must exist there first`);
  }
  return c;
}

/** post_start / pre_stop → lifecycle exec handlers (one each); what they cannot carry is named. */
function hooks(ctx: ExportContext, service: Service): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, list, field] of [
    ['post_start', service.postStart, 'postStart'],
    ['pre_stop', service.preStop, 'preStop'],
  ] as const) {
    if (!list?.length) continue;
    const [first, ...rest] = list;
    out[field] = { exec: { command: first!.command.map(literal) } };
    if (rest.length) ctx.findings.warn(service.name, `${key}[1]`, `a pod runs one ${field} handler: only the first hook is written, ${rest.length} left out`);
    list.forEach((h, i) => {
      const lost = [h.user !== undefined && 'user', h.privileged && 'privileged', h.workingDir !== undefined && 'working_dir', Object.keys(h.environment).length > 0 && 'environment'].filter(Boolean);
      if (lost.length) ctx.findings.warn(service.name, `${key}[${i}]`, `${lost.join(', ')} left out: a ${field} handler runs as the container, in its folder, with its environment`);
    });
    if (key === 'post_start') ctx.findings.warn(service.name, key, 'a failing postStart handler kills the container in Kubernetes (compose reports it and keeps the service running)');
  }
  return Object.keys(out).length ? out : undefined;
}

function pullPolicy(ctx: ExportContext, service: Service): string | undefined {
  const p = service.pullPolicy;
  if (p === undefined) return undefined;
  if (p === 'always') return 'Always';
  if (p === 'never') return 'Never';
  if (p === 'missing') return 'IfNotPresent';
  if (p === 'build') {
    ctx.findings.warn(service.name, 'pull_policy', 'build has no Kubernetes equivalent: IfNotPresent (build and push the image first)');
    return 'IfNotPresent';
  }
  ctx.findings.warn(service.name, 'pull_policy', 'a refresh period has no Kubernetes equivalent: IfNotPresent (a node pulls the image when it has none)');
  return 'IfNotPresent';
}

/** user, capabilities, read_only, privileged and security_opt as a container securityContext. */
function securityContext(ctx: ExportContext, service: Service): Record<string, unknown> {
  const f = ctx.findings;
  const out: Record<string, unknown> = {};
  if (service.user !== undefined) {
    const [user, group] = service.user.split(':', 2) as [string, string | undefined];
    if (/^\d+$/.test(user)) out.runAsUser = Number(user);
    else f.warn(service.name, 'user', `user "${user}" is a name: Kubernetes takes only a numeric runAsUser, so the container runs as the image's USER (write the uid)`);
    if (group !== undefined) {
      if (/^\d+$/.test(group)) out.runAsGroup = Number(group);
      else f.warn(service.name, 'user', `group "${group}" is a name: Kubernetes takes only a numeric runAsGroup, so it is left out (write the gid)`);
    }
  }
  const cap = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  if (service.capAdd.length || service.capDrop.length) {
    out.capabilities = {
      ...(service.capAdd.length ? { add: service.capAdd.map(cap) } : {}),
      ...(service.capDrop.length ? { drop: service.capDrop.map(cap) } : {}),
    };
    const key = service.capAdd.length ? 'cap_add' : 'cap_drop';
    f.warn(service.name, key, "capabilities change the cluster runtime's default set, not Docker's: containerd's default is Docker's, CRI-O's is narrower (no NET_RAW, MKNOD, AUDIT_WRITE, SYS_CHROOT)");
  }
  if (service.readOnly) out.readOnlyRootFilesystem = true;
  if (service.privileged) {
    out.privileged = true;
    f.warn(service.name, 'privileged', "the container runs privileged on a node (every capability, every device of the node); namespaces under Pod Security 'baseline' or 'restricted' refuse it");
  }
  service.devices.forEach((d, i) => {
    f.warn(service.name, `devices[${i}]`, `host device ${d.source} left out: a pod gets a node's devices through a device plugin, not by path`);
  });
  if (service.seccomp.mode === 'default') out.seccompProfile = { type: 'RuntimeDefault' };
  else if (service.seccomp.mode === 'unconfined') out.seccompProfile = { type: 'Unconfined' };
  else {
    out.seccompProfile = { type: 'RuntimeDefault' };
    f.warn(service.name, 'security_opt', `seccomp profile ${service.seccomp.path} left out: a Localhost profile must be installed on every node first (RuntimeDefault applies)`);
  }
  for (const opt of service.securityOpt) {
    if (/^no-new-privileges(:true|=true)?$/.test(opt)) out.allowPrivilegeEscalation = false;
    else if (/^no-new-privileges(:false|=false)$/.test(opt)) continue;
    else if (!/^seccomp[:=]/.test(opt)) f.warn(service.name, 'security_opt', `"${opt}" left out: no securityContext equivalent is written`);
  }
  return out;
}

/** mem_limit, cpus and deploy.resources.limits as resource limits; pids named. */
function limits(ctx: ExportContext, service: Service): Record<string, unknown> | undefined {
  const l = service.limits;
  if (l.pids !== undefined) ctx.findings.warn(service.name, 'pids_limit', 'Kubernetes has no per-container pids limit (the node sets one for every pod): left out');
  const out: Record<string, string> = {};
  if (l.memoryBytes !== undefined) out.memory = String(l.memoryBytes);
  if (l.cpus !== undefined) out.cpu = `${Math.max(1, Math.round(l.cpus * 1000))}m`;
  return Object.keys(out).length ? { limits: out } : undefined;
}

// `stack port SERVICE PRIVATE_PORT`: the host address a service's port is published on, as
// `docker compose port` prints it (`127.0.0.1:8080`), from the supervisor that serves it (so a
// `hostPort: 0` entry prints the port it bound). Not published, or not served: exit 1, saying why.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { supervisorStatus, type PortStatus } from '../../supervisor/index.js';
import { runningProject } from './running-project.js';
import { replicaKey } from '../../names.js';
import { replicaKeys } from '../../planner/replicas.js';

const HELP = `Usage: stack port [OPTIONS] SERVICE PRIVATE_PORT

Print the host address a service's port is published on.

Options:
      --protocol PROTO  tcp (default) or udp
      --index N         Which replica of a scaled service (default 1)
  -h, --help            Print this help
`;

/** The host address of one published port: `published` is `127.0.0.1:0/tcp` and `boundPort` what it listens on. */
export function hostAddress(port: PortStatus): string | undefined {
  const m = /^(.*):(\d+)\/(tcp|udp)$/.exec(port.published);
  if (!m) return undefined;
  const bound = port.boundPort ?? (Number(m[2]) > 0 ? Number(m[2]) : undefined);
  return bound === undefined ? undefined : `${m[1]}:${bound}`;
}

/** The ports of `ports` that forward `privatePort/protocol` (the target is `ip:port`, the protocol is in `published`). */
export function portsFor(ports: readonly PortStatus[], privatePort: number, protocol: string): PortStatus[] {
  return ports.filter((p) => p.target.endsWith(`:${privatePort}`) && p.published.endsWith(`/${protocol}`));
}

/** Runs `stack port`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'port',
    ctx.args,
    {
      protocol: { type: 'string', default: 'tcp' },
      index: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UserError('CLI_BAD_ARGUMENTS', 'stack port needs a service and a private port', 'e.g. stack port web 80');
  const [service, portText] = positionals as [string, string];
  const privatePort = Number(portText);
  if (!/^\d+$/.test(portText) || privatePort < 1 || privatePort > 65535) {
    throw new UserError('CLI_BAD_ARGUMENTS', `"${portText}" is not a port number`, 'give the port the service listens on, 1-65535');
  }
  if (values.protocol !== 'tcp' && values.protocol !== 'udp') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown protocol "${values.protocol}"`, 'use --protocol tcp or --protocol udp');
  }
  if (!/^[1-9]\d*$/.test(values.index)) throw new UserError('CLI_BAD_ARGUMENTS', `--index ${values.index} is not a copy number`, 'copies are numbered from 1');
  const { name, project } = await runningProject(ctx, 'port', [service]);
  // Replica N of a scaled service has a key of its own (planner/replicas.ts).
  const key = replicaKey(service, Number(values.index));
  if (!project?.services[key]) {
    const count = replicaKeys(project?.services ?? {}, service).length;
    throw new UserError('SERVICE_NO_SUCH_COPY', `service "${service}" has no replica ${values.index}`, `it runs ${count}: --index 1${count > 1 ? ` to ${count}` : ''}`);
  }
  const status = await supervisorStatus(name, stateRoots(ctx.env as NodeJS.ProcessEnv));
  if (!status) throw new UserError('PORT_NOT_SERVED', `project ${name} has no supervisor running, so no port of it is served`, '`stack up -d` starts it');
  const ports = status.services.find((s) => s.name === key)?.ports ?? [];
  const matching = portsFor(ports, privatePort, values.protocol);
  if (matching.length === 0) {
    const published = ports.map((p) => `${p.target.replace(/^.*:/, '')}/${p.published.replace(/^.*\//, '')}`);
    throw new UserError(
      'PORT_NOT_PUBLISHED',
      `no port ${privatePort}/${values.protocol} of service "${service}" is published`,
      published.length ? `it publishes ${[...new Set(published)].join(', ')}` : 'the service publishes no port (ports: in the spec)',
    );
  }
  const addresses = matching.map(hostAddress);
  const first = addresses.find((a) => a !== undefined);
  if (first === undefined) {
    throw new UserError('PORT_NOT_BOUND', `port ${privatePort}/${values.protocol} of service "${service}" is not listening: ${matching[0]!.error ?? 'not bound yet'}`, '`stack ps` shows why');
  }
  ctx.stdout.write(first + '\n');
  return 0;
}

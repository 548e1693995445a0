// `stack export kube`: the project as Kubernetes manifests, on stdout or one file per object in
// a folder, every change of meaning named on stderr (one line each; `--strict` makes them an
// error). Reads only the spec: no root, no kernel objects, no runtime.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { UserError } from '../../errors.js';
import { exportKube, formatWarning, renderStream, strictError, writeFolder, type PublishType } from '../../export/index.js';

const HELP = `Usage: stack export kube [OPTIONS] [SERVICE...]

Write the project as Kubernetes manifests (the services named and what they depend on, or all),
in an order \`kubectl apply -f\` accepts; every change of meaning is named on stderr.

Options:
  -o, --output DIR|-         A folder (one file per object) or - for one stream on stdout (default -)
  -n, --namespace NS         Namespace of every object (default: the project name)
      --service-type TYPE    What published ports become: LoadBalancer (default), NodePort or ClusterIP
      --volume-size SIZE     Size of a claim whose volume has no stack.export.size label (default 1Gi)
      --strict               Fail (exit 1, nothing written) when anything changes meaning
  -h, --help                 Print this help
`;

const SERVICE_TYPES: readonly PublishType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

/** Runs `stack export kube [-o DIR|-] [--namespace NS] [--service-type T] [--volume-size Q] [--strict] [SERVICE...]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const [target, ...rest] = ctx.args;
  if (target === '--help' || target === '-h' || (target === 'kube' && rest.some((a) => a === '--help' || a === '-h'))) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (target !== 'kube') {
    throw new UserError(
      'CLI_BAD_ARGUMENTS',
      target === undefined ? 'stack export needs a target' : `unknown export target "${target}"`,
      'stack export kube [-o DIR|-] [--namespace NS] [--service-type ClusterIP|NodePort|LoadBalancer] [--volume-size SIZE] [--strict] [SERVICE...]',
    );
  }
  const { values, positionals } = parseCommandOptions(
    'export kube',
    rest,
    {
      output: { type: 'string', short: 'o', default: '-' },
      namespace: { type: 'string', short: 'n' },
      'service-type': { type: 'string', default: 'LoadBalancer' },
      'volume-size': { type: 'string' },
      strict: { type: 'boolean', default: false },
    },
    true,
  );
  const serviceType = SERVICE_TYPES.find((t) => t.toLowerCase() === String(values['service-type']).toLowerCase());
  if (!serviceType) {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown --service-type "${values['service-type']}"`, `use ${SERVICE_TYPES.join(', ')}`);
  }
  const project = await loadFromContext(ctx);
  const result = exportKube(project, {
    namespace: values.namespace,
    serviceType,
    volumeSize: values['volume-size'],
    services: positionals,
    env: ctx.env,
  });
  for (const w of result.warnings) ctx.stderr.write(formatWarning(w) + '\n');
  if (values.strict && result.warnings.length) throw strictError(result.warnings);
  if (values.output === '-') {
    ctx.stdout.write(renderStream(result.objects));
  } else {
    const dir = resolve(ctx.cwd, values.output!);
    const files = writeFolder(dir, result.objects);
    ctx.stderr.write(`wrote ${files.length} manifests to ${dir} (kubectl apply -f ${values.output})\n`);
  }
  return 0;
}

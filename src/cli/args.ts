// Command-line parsing: global options come before the command, as in
// `docker compose -p NAME up`; each command then parses its own options with node's parseArgs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';
import { closest } from './suggest.js';

/** Options that apply to every command (they go before it). */
export interface GlobalOptions {
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  profiles: string[];
  envFiles: string[];
  help: boolean;
  version: boolean;
}

/** The command line split into global options, the command and its own arguments. */
export interface CommandLine {
  global: GlobalOptions;
  command?: string;
  rest: string[];
}

type Spec = { name: keyof GlobalOptions; takesValue: boolean };

const GLOBAL: Record<string, Spec> = {
  '-f': { name: 'files', takesValue: true },
  '--file': { name: 'files', takesValue: true },
  '-p': { name: 'projectName', takesValue: true },
  '--project-name': { name: 'projectName', takesValue: true },
  '--project-directory': { name: 'projectDirectory', takesValue: true },
  '--profile': { name: 'profiles', takesValue: true },
  '--env-file': { name: 'envFiles', takesValue: true },
  '-h': { name: 'help', takesValue: false },
  '--help': { name: 'help', takesValue: false },
  '-v': { name: 'version', takesValue: false },
  '--version': { name: 'version', takesValue: false },
};

/** Splits argv at the command; global options are parsed here, the rest is the command's. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const global: GlobalOptions = { files: [], profiles: [], envFiles: [], help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-') || token === '-') break;
    const eq = token.indexOf('=');
    const flag = token.startsWith('--') && eq > 0 ? token.slice(0, eq) : token;
    const spec = GLOBAL[flag];
    if (!spec) {
      const near = closest(flag, Object.keys(GLOBAL));
      throw new UserError(
        'CLI_UNKNOWN_OPTION',
        `unknown option ${flag}`,
        near ? `did you mean ${near}? (options of a command go after it: stack up -d)` : 'see `stack --help`',
      );
    }
    if (!spec.takesValue) {
      (global[spec.name] as boolean) = true;
      continue;
    }
    let value: string | undefined;
    if (flag !== token) value = token.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value === '') {
      throw new UserError('CLI_MISSING_VALUE', `option ${flag} needs a value`, `e.g. stack ${flag} VALUE COMMAND`);
    }
    const current = global[spec.name];
    if (Array.isArray(current)) current.push(value);
    else (global[spec.name] as string) = value;
  }
  const command = argv[i];
  return { global, command, rest: argv.slice(i + 1) as string[] };
}

/**
 * docker compose's options stack has on purpose no equivalent of, by command: a compose user
 * reaching for one is told why and what to do instead, not only that it is unknown.
 */
const COMPOSE_ONLY: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  up: {
    '--build': 'stack builds no images: build with `docker build`, `buildah` or `podman build`, push to a registry, and name the image in `image:`',
    '--no-build': 'stack builds no images: nothing to leave out',
  },
  run: {
    '--build': 'stack builds no images: build with `docker build`, `buildah` or `podman build`, push to a registry, and name the image in `image:`',
  },
};

/** Parses one command's own options; unknown options become a UserError with a suggestion. */
export function parseCommandOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
  positionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown) {
      const composeOnly = COMPOSE_ONLY[command]?.[unknown];
      if (composeOnly !== undefined) throw new UserError('CLI_UNSUPPORTED_OPTION', `stack ${command} has no ${unknown}`, composeOnly);
      const names = Object.entries(options).flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
      const near = closest(unknown, names);
      throw new UserError(
        'CLI_UNKNOWN_OPTION',
        `unknown option ${unknown} for \`stack ${command}\``,
        near ? `did you mean ${near}?` : `see \`stack ${command} --help\``,
      );
    }
    throw new UserError('CLI_BAD_ARGUMENTS', `stack ${command}: ${message.replace(/\. To specify.*$/s, '')}`, `see \`stack ${command} --help\``);
  }
}

/** `--format`'s value where a command prints a table or JSON (`ps`, `ls`, `images`, `stats`); anything else is a UserError. */
export function tableOrJson(format: string | undefined): 'table' | 'json' {
  if (format === undefined || format === 'table' || format === 'json') return format ?? 'table';
  throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${format}"`, 'use --format table or --format json');
}

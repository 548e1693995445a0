// Dockerfiles read the way BuildKit's frontend reads them (moby/buildkit frontend/dockerfile:
// parser, instructions and shell): parser directives, comments, line continuations, heredocs,
// flags, the JSON (exec) and shell forms, and the word expansion the builder applies to
// arguments. Arguments are kept raw; the builder expands them with expandWord when it runs the
// instruction, with the variables in force there. Pure: text in, structures out.
import { UserError } from '../errors.js';

/** How RUN, CMD or ENTRYPOINT runs its command; `heredoc`: a RUN whose whole script is the heredoc of that name (`RUN <<EOF`). */
export type CommandForm = { readonly kind: 'exec'; readonly argv: readonly string[] } | { readonly kind: 'shell'; readonly command: string; readonly heredoc?: string };

/** A heredoc source of COPY or ADD; `body` already has its leading tabs stripped when `chomp` (`<<-`). */
export interface HeredocSource {
  name: string;
  body: string;
  chomp: boolean;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is taken as it is. */
  expand: boolean;
}

export type Instruction = (
  | { keyword: 'FROM'; image: string; as?: string; platform?: string }
  | { keyword: 'RUN'; command: CommandForm; network?: string; mounts: string[] }
  | { keyword: 'CMD' | 'ENTRYPOINT'; command: CommandForm }
  | {
      keyword: 'COPY' | 'ADD';
      sources: string[];
      dest: string;
      from?: string;
      chown?: string;
      chmod?: string;
      link: boolean;
      parents: boolean;
      exclude: string[];
      keepGitDir: boolean;
      checksum?: string;
      heredocs: HeredocSource[];
    }
  | { keyword: 'ENV' | 'LABEL'; pairs: [string, string][] }
  | { keyword: 'ARG'; args: { name: string; default?: string }[] }
  | { keyword: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER'; value: string }
  | { keyword: 'EXPOSE' | 'VOLUME'; values: string[] }
  | { keyword: 'SHELL'; argv: string[] }
  | { keyword: 'HEALTHCHECK'; none: true }
  | {
      keyword: 'HEALTHCHECK';
      none: false;
      command: CommandForm;
      interval?: string;
      timeout?: string;
      startPeriod?: string;
      startInterval?: string;
      retries?: string;
    }
  | { keyword: 'ONBUILD'; trigger: string }
) & {
  /** Where the keyword is (1-based). */
  readonly line: number;
  readonly column: number;
  /** The last line the instruction spans: its continuations and heredoc bodies. */
  readonly endLine: number;
  /** The instruction as written, continuations joined, each heredoc's body and delimiter after a newline. */
  readonly original: string;
};

export interface Dockerfile {
  readonly escape: '\\' | '`';
  /** ARG instructions before the first FROM (they may be used in FROM lines). */
  readonly globalArgs: readonly Extract<Instruction, { keyword: 'ARG' }>[];
  /** The stages, in order; each starts with its FROM. */
  readonly stages: readonly { readonly from: Extract<Instruction, { keyword: 'FROM' }>; readonly name?: string; readonly instructions: readonly Instruction[] }[];
}

/** Looks a variable up; undefined means unset. */
export type Lookup = (name: string) => string | undefined;

/** A Dockerfile that cannot be read; the message starts with `file:line:column: `. */
export class DockerfileError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    what: string,
    hint?: string,
  ) {
    super('DOCKERFILE_INVALID', `${file}:${line}:${column}: ${what}`, hint);
  }
}

/** A word that cannot be expanded: a bad `${...}`, an unclosed quote, `${VAR?}` of an unset variable. */
export class ExpansionError extends UserError {
  constructor(message: string, hint?: string) {
    super('DOCKERFILE_INVALID', message, hint);
  }
}

/** What is wrong, before the place is known. */
class Invalid extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK',
  'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;
type Keyword = (typeof KEYWORDS)[number];

type FlagKind = 'bool' | 'string' | 'strings';
/** The flags each instruction takes; the others take none. */
const FLAGS: Partial<Record<Keyword, Readonly<Record<string, FlagKind>>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'strings' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Go's unicode.IsSpace. */
const SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;
const isSpace = (ch: string | undefined): boolean => ch !== undefined && SPACE.test(ch);
const trimLeft = (s: string): string => {
  let k = 0;
  while (k < s.length && isSpace(s[k])) k++;
  return s.slice(k);
};
/** The separator of whitespace-delimited arguments (BuildKit's reWhitespace). */
const FIELD_SEP = /[\t\v\f\r ]+/;
const fields = (s: string): string[] => (s === '' ? [] : s.split(FIELD_SEP));
const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/;

// ---- parsing ------------------------------------------------------------------------------------

/** Parses; `file` names the Dockerfile in errors (e.g. "/app/Dockerfile"). Throws DockerfileError. */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop();
  if (raw[0]?.startsWith('\uFEFF')) raw[0] = raw[0].slice(1);
  const lines = raw.map((l) => l.replace(/\r+$/, ''));
  const directives = new Directives();
  const all: Instruction[] = [];
  let next = 0; // index of the next line to read
  while (next < lines.length) {
    const lineNo = next + 1;
    const first = trimLeft(lines[next++]!);
    const column = lines[lineNo - 1]!.length - first.length + 1;
    try {
      directives.read(first);
    } catch (e) {
      throw located(e, file, lineNo, 1);
    }
    if (isComment(first)) continue;
    let [joined, more] = continuation(first, directives.escape);
    if (!more && joined === '') continue;
    // Comment lines and blank lines inside a continued instruction are skipped.
    while (more && next < lines.length) {
      const l = lines[next++]!;
      if (isComment(l) || trimLeft(l) === '') continue;
      const [part, again] = continuation(l, directives.escape);
      joined += part;
      more = again;
    }
    try {
      const line = joined.trim();
      const [word, afterWord] = splitFirst(line);
      const keyword = word.toUpperCase();
      if (!(KEYWORDS as readonly string[]).includes(keyword)) throw unknownInstruction(word, column, directives.escape);
      const { flags, rest } = extractFlags(afterWord, directives.escape);
      const heredocs: RawHeredoc[] = [];
      if (mayHoldHeredocs(keyword, rest, directives.escape) && line.includes('<<')) {
        for (const h of heredocsOf(line)) {
          let content = '';
          let closed = false;
          while (next < lines.length) {
            const l = lines[next]!;
            const body = raw[next++]!;
            if ((h.chomp ? l.replace(/^\t+/, '') : l) === h.name) {
              closed = true;
              break;
            }
            content += `${body}\n`;
          }
          if (!closed) throw new Invalid(`unterminated heredoc: no line "${h.name}" ends it`, `end the heredoc with a line holding only ${h.name}`);
          heredocs.push({ ...h, content });
        }
      }
      const meta = { line: lineNo, column, endLine: next, original: line + heredocs.map((h) => `\n${h.content}${h.name}`).join('') };
      all.push({ ...instruction(keyword as Keyword, flags, rest, heredocs, meta.original, directives.escape), ...meta } as Instruction);
    } catch (e) {
      throw located(e, file, lineNo, column);
    }
  }
  return assemble(all, file, directives.escape);
}

/** Global ARGs, then stages each opened by a FROM. */
function assemble(all: readonly Instruction[], file: string, escape: '\\' | '`'): Dockerfile {
  const globalArgs: Extract<Instruction, { keyword: 'ARG' }>[] = [];
  const stages: { from: Extract<Instruction, { keyword: 'FROM' }>; name?: string; instructions: Instruction[] }[] = [];
  for (const ins of all) {
    if (ins.keyword === 'FROM') stages.push({ from: ins, ...(ins.as !== undefined && { name: ins.as }), instructions: [] });
    else if (stages.length > 0) stages[stages.length - 1]!.instructions.push(ins);
    else if (ins.keyword === 'ARG') globalArgs.push(ins);
    else throw new DockerfileError(file, ins.line, ins.column, `no FROM before ${ins.keyword}`, 'a Dockerfile starts with FROM; only ARG may come before the first FROM');
  }
  if (stages.length === 0) {
    throw new DockerfileError(file, 1, 1, 'no FROM instruction', all.length === 0 ? 'the file holds no instruction' : 'a stage starts with FROM <image>');
  }
  return { escape, globalArgs, stages };
}

function located(e: unknown, file: string, line: number, column: number): unknown {
  return e instanceof Invalid ? new DockerfileError(file, line, column, e.message, e.hint) : e;
}

function unknownInstruction(word: string, column: number, escape: string): Invalid {
  const near = nearest(word.toUpperCase(), KEYWORDS);
  const continued = column > 1 || !/^[a-z]+$/i.test(word);
  return new Invalid(
    `unknown instruction: ${word}`,
    near ? `did you mean ${near}?` : continued ? `if this line continues the instruction above, end that line with ${escape}` : undefined,
  );
}

/** The parser directives at the top of the file: `# escape=`, `# syntax=`, `# check=`. */
class Directives {
  escape: '\\' | '`' = '\\';
  private done = false;
  private readonly seen = new Set<string>();

  /** Reads `line` (leading whitespace removed) as a possible directive; the first other line ends them. */
  read(line: string): void {
    if (this.done) return;
    const m = line.startsWith('#') ? /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/.exec(trimLeft(line.slice(1))) : null;
    const key = m?.[1]!.toLowerCase();
    if (!m || (key !== 'syntax' && key !== 'escape' && key !== 'check')) {
      this.done = true;
      return;
    }
    if (this.seen.has(key)) throw new Invalid(`only one ${key} parser directive can be used`);
    this.seen.add(key);
    if (key !== 'escape') return;
    const value = m[2]!;
    if (value !== '\\' && value !== '`') throw new Invalid(`invalid escape token '${value}' does not match \` or \\`, 'write # escape=` or # escape=\\');
    this.escape = value;
  }
}

function isComment(line: string): boolean {
  return trimLeft(line).startsWith('#');
}

/** The line without a trailing escape (and whitespace after it), and whether it continues. */
function continuation(line: string, escape: string): [string, boolean] {
  const body = line.replace(/[ \t]*$/, '');
  if (body.endsWith(escape) && (body.length === 1 || body[body.length - 2] !== escape)) return [body.slice(0, -1), true];
  return [line, false];
}

/** The first word and what follows the whitespace after it. */
function splitFirst(s: string): [string, string] {
  const m = FIELD_SEP.exec(s);
  return m ? [s.slice(0, m.index), s.slice(m.index + m[0].length)] : [s, ''];
}

/** The `--flag[=value]` words before the arguments (quotes and escapes removed), and the rest. */
function extractFlags(line: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let phase: 'space' | 'word' | 'quote' = 'space';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const end = pos === line.length;
    let ch = line[pos]!;
    if (phase === 'space') {
      if (end) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { flags, rest: line.slice(pos).trim() };
      phase = 'word';
    }
    if (end) {
      if (word !== '--' && (blankOk || word !== '')) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'space';
        if (word === '--') return { flags, rest: line.slice(pos).trim() };
        if (blankOk || word !== '') flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === line.length) continue;
        ch = line[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos]!;
    }
    word += ch;
  }
  return { flags, rest: '' };
}

/** BuildKit's parseWords: words split on unquoted whitespace, quotes and escapes kept as written. */
function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 'space' | 'word' | 'quote' = 'space';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= rest.length; pos++) {
    const end = pos === rest.length;
    let ch = rest[pos]!;
    if (phase === 'space') {
      if (end) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (end) {
      if (blankOk || word !== '') words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'space';
        if (blankOk || word !== '') words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === rest.length) continue; // an escape at the very end is dropped
        word += ch;
        ch = rest[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === rest.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = rest[++pos]!;
    }
    word += ch;
  }
  return words;
}

/** The JSON array of strings `rest` is, if it is one (then the instruction is in exec form). */
function jsonArray(rest: string): string[] | undefined {
  const text = trimLeft(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // not JSON: the shell form
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) {
    throw new Invalid('when using JSON array syntax, arrays must be comprised of strings only', 'quote each element: ["npm", "start"]');
  }
  return value as string[];
}

// ---- heredocs -----------------------------------------------------------------------------------

interface HeredocWord {
  readonly name: string;
  readonly chomp: boolean;
  readonly expand: boolean;
}
interface RawHeredoc extends HeredocWord {
  /** The body lines as written, each with its newline; leading tabs not yet stripped. */
  readonly content: string;
}

/** RUN, COPY and ADD in shell form, and ONBUILD of one of those, may take heredocs. */
function mayHoldHeredocs(keyword: string, rest: string, escape: string): boolean {
  if (keyword === 'ONBUILD') {
    const [word, after] = splitFirst(rest);
    const child = word.toUpperCase();
    return child !== 'ONBUILD' && mayHoldHeredocs(child, extractFlags(after, escape).rest, escape);
  }
  if (keyword !== 'RUN' && keyword !== 'COPY' && keyword !== 'ADD') return false;
  try {
    return jsonArray(rest) === undefined;
  } catch {
    return false; // the instruction reports it
  }
}

/** The heredocs a line opens, in order (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`). */
function heredocsOf(line: string): HeredocWord[] {
  let words: string[];
  try {
    words = new Lexer(line, { escape: '\\', lookup: () => undefined, rawQuotes: true, rawEscapes: true, skipUnset: true }).run().words;
  } catch (e) {
    if (e instanceof Invalid) return []; // a line the shell lexer cannot read opens no heredoc
    throw e;
  }
  return words.map(heredocWord).filter((h): h is HeredocWord => h !== undefined);
}

/** The heredoc a word opens, if it opens one. Throws Invalid for a delimiter that cannot be read. */
function heredocWord(word: string): HeredocWord | undefined {
  const m = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/.exec(word);
  const rest = m?.[3];
  if (!rest) return undefined;
  const lex = (rawQuotes: boolean): string[] => new Lexer(rest, { escape: '\\', lookup: () => undefined, rawQuotes, skipUnset: true }).run().words;
  const words = lex(false);
  if (words.length !== 1) return undefined;
  const quotes = (s: string): number => s.replace(/[^'"]/g, '').length;
  // A quoted delimiter, in whole or in part, means the body is not expanded.
  return { name: words[0]!, chomp: m![2] === '-', expand: quotes(words[0]!) === quotes(lex(true)[0]!) };
}

const maybeHeredoc = (word: string): HeredocWord | undefined => {
  try {
    return heredocWord(word);
  } catch {
    return undefined;
  }
};

const chompTabs = (s: string): string => s.replace(/^\t+/gm, '');

// ---- instructions -------------------------------------------------------------------------------

/** An instruction without its place. */
type Body = Instruction extends infer I ? (I extends unknown ? Omit<I, 'line' | 'column' | 'endLine' | 'original'> : never) : never;

function instruction(keyword: Keyword, flagWords: readonly string[], rest: string, heredocs: readonly RawHeredoc[], original: string, escape: string): Body {
  // Every instruction rejects the flags it does not take (parseFlags).
  switch (keyword) {
    case 'FROM': {
      const words = fields(rest);
      let as: string | undefined;
      if (words.length === 3 && words[1]!.toLowerCase() === 'as') {
        as = words[2]!.toLowerCase();
        if (!STAGE_NAME.test(as)) {
          throw new Invalid(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`, 'a stage name starts with a letter and holds letters, digits, -, _ and .');
        }
      } else if (words.length !== 1) {
        throw new Invalid('FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
      }
      const f = parseFlags('FROM', flagWords);
      return { keyword, image: words[0]!, ...opt('as', as), ...opt('platform', str(f, 'platform')) };
    }
    case 'RUN': {
      const f = parseFlags('RUN', flagWords);
      const security = str(f, 'security');
      if (security !== undefined) throw new Invalid(`RUN --security=${security} is not supported`, 'stack runs every build step unprivileged; remove the flag');
      const network = str(f, 'network');
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
        throw new Invalid(`invalid network mode "${network}" for RUN --network`, 'use --network=default, none or host');
      }
      const command = commandForm('RUN', rest, heredocs);
      if (command.kind === 'exec' && command.argv.length === 0) throw new Invalid('RUN requires at least one argument');
      return { keyword, command, ...opt('network', network), mounts: list(f, 'mount') };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      parseFlags(keyword, flagWords);
      return { keyword, command: commandForm(keyword, rest, []) };
    case 'COPY':
    case 'ADD': {
      const f = parseFlags(keyword, flagWords);
      const args = jsonArray(rest) ?? fields(rest);
      if (args.length < 2) throw new Invalid(`${keyword} requires at least one source and a destination`, `write ${keyword} <source>... <destination>`);
      const dest = args[args.length - 1]!;
      if (maybeHeredoc(dest)) throw new Invalid(`${keyword} cannot accept a heredoc as a destination`, `write ${keyword} <<EOF <destination>`);
      const sources: string[] = [];
      const docs: HeredocSource[] = [];
      for (const src of args.slice(0, -1)) {
        const h = maybeHeredoc(src);
        if (!h) {
          sources.push(src);
          continue;
        }
        const content = heredocs.find((d) => d.name === h.name)?.content ?? '';
        docs.push({ name: h.name, body: h.chomp ? chompTabs(content) : content, chomp: h.chomp, expand: h.expand });
      }
      return {
        keyword,
        sources,
        dest,
        ...opt('from', str(f, 'from')),
        ...opt('chown', str(f, 'chown')),
        ...opt('chmod', str(f, 'chmod')),
        link: f.get('link') === 'true',
        parents: f.get('parents') === 'true',
        exclude: list(f, 'exclude'),
        keepGitDir: f.get('keep-git-dir') === 'true',
        ...opt('checksum', str(f, 'checksum')),
        heredocs: docs,
      };
    }
    case 'ENV':
    case 'LABEL':
      parseFlags(keyword, flagWords);
      return { keyword, pairs: nameValues(keyword, rest, escape) };
    case 'ARG': {
      parseFlags(keyword, flagWords);
      const words = splitWords(rest, escape);
      if (words.length === 0) throw new Invalid('ARG requires at least one argument', 'write ARG <name>[=<default>]');
      const args = words.map((w) => {
        const eq = w.indexOf('=');
        if (eq === 0) throw new Invalid('ARG names can not be blank');
        return eq < 0 ? { name: w } : { name: w.slice(0, eq), default: w.slice(eq + 1) };
      });
      return { keyword, args };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      parseFlags(keyword, flagWords);
      if (rest === '') throw new Invalid(`${keyword} requires exactly one argument`);
      return { keyword, value: rest };
    case 'EXPOSE': {
      parseFlags(keyword, flagWords);
      const values = fields(rest);
      if (values.length === 0) throw new Invalid('EXPOSE requires at least one argument');
      return { keyword, values };
    }
    case 'VOLUME': {
      parseFlags(keyword, flagWords);
      const values = (jsonArray(rest) ?? fields(rest)).map((v) => v.trim());
      if (values.length === 0) throw new Invalid('VOLUME requires at least one argument');
      if (values.includes('')) throw new Invalid('VOLUME specified can not be an empty string');
      return { keyword, values };
    }
    case 'SHELL': {
      parseFlags(keyword, flagWords);
      const argv = jsonArray(rest);
      if (rest === '' || argv?.length === 0) throw new Invalid('SHELL requires at least one argument', 'write SHELL ["/bin/sh", "-c"]');
      if (!argv) throw new Invalid('SHELL requires the arguments to be in JSON form', `write SHELL ${JSON.stringify(fields(rest))}`);
      return { keyword, argv };
    }
    case 'HEALTHCHECK':
      return healthcheck(flagWords, rest);
    case 'ONBUILD': {
      parseFlags(keyword, flagWords);
      if (rest === '') throw new Invalid('ONBUILD requires at least one argument');
      const trigger = splitFirst(rest)[0].toUpperCase();
      if (trigger === 'ONBUILD') throw new Invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new Invalid(`${trigger} isn't allowed as an ONBUILD trigger`);
      return { keyword, trigger: original.replace(/^\s*ONBUILD\s*/i, '') };
    }
  }
}

/** `{key: value}` when value is defined, else nothing. */
const opt = <K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: T }));
const str = (f: Flags, name: string): string | undefined => f.get(name) as string | undefined;
const list = (f: Flags, name: string): string[] => (f.get(name) as string[] | undefined) ?? [];

/** RUN, CMD and ENTRYPOINT: a JSON array is the exec form, anything else the shell form. */
function commandForm(keyword: string, rest: string, heredocs: readonly RawHeredoc[]): CommandForm {
  const argv = jsonArray(rest);
  if (argv) return { kind: 'exec', argv };
  if (rest === '') throw new Invalid(`${keyword} requires at least one argument`);
  if (heredocs.length === 0) return { kind: 'shell', command: rest };
  // `RUN <<EOF` alone runs the body as the script; otherwise the shell reads the heredocs itself.
  const only = maybeHeredoc(rest);
  if (only) {
    const doc = heredocs[0]!;
    return { kind: 'shell', command: doc.chomp ? chompTabs(doc.content) : doc.content, heredoc: doc.name };
  }
  return { kind: 'shell', command: rest + heredocs.map((h) => `\n${h.content}${h.name}`).join('') };
}

/** ENV and LABEL: `name=value ...`, or the legacy `name value` with the rest of the line as value. */
function nameValues(keyword: 'ENV' | 'LABEL', rest: string, escape: string): [string, string][] {
  const words = splitWords(rest, escape);
  if (words.length === 0) throw new Invalid(`${keyword} requires at least one argument`, `write ${keyword} <name>=<value>`);
  if (!words[0]!.includes('=')) {
    const [name, value] = splitFirst(rest);
    if (value === '') throw new Invalid(`${keyword} must have two arguments`, `write ${keyword} ${name}=<value>`);
    return [[name, value]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Invalid(`Syntax error - can't find = in "${w}". Must be of the form: name=value`, `quote a value with spaces: ${keyword} name="a b"`);
    if (eq === 0) throw new Invalid(`${keyword} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function healthcheck(flagWords: readonly string[], rest: string): Body {
  const f = parseFlags('HEALTHCHECK', flagWords);
  if (rest === '') throw new Invalid('HEALTHCHECK requires at least one argument', 'write HEALTHCHECK [flags] CMD <command>, or HEALTHCHECK NONE');
  const sep = rest.search(/\s/);
  const type = sep < 0 ? rest : rest.slice(0, sep);
  const after = sep < 0 ? '' : trimLeft(rest.slice(sep));
  if (type.toUpperCase() === 'NONE') {
    if (after !== '') throw new Invalid('HEALTHCHECK NONE takes no arguments');
    return { keyword: 'HEALTHCHECK', none: true };
  }
  if (type.toUpperCase() !== 'CMD') throw new Invalid(`unknown HEALTHCHECK type "${type}"`, 'write HEALTHCHECK [flags] CMD <command>, or HEALTHCHECK NONE');
  const argv = jsonArray(after);
  if (after === '' || argv?.length === 0) throw new Invalid('Missing command after HEALTHCHECK CMD');
  for (const name of ['interval', 'timeout', 'start-period', 'start-interval']) {
    const v = str(f, name);
    if (v === undefined || v === '') continue;
    const ns = goDuration(v);
    if (ns === undefined) throw new Invalid(`HEALTHCHECK --${name}: invalid duration "${v}"`, 'write a duration such as 30s, 1m30s or 500ms');
    if (ns !== 0 && ns < 1e6) throw new Invalid(`HEALTHCHECK --${name} cannot be less than 1ms`);
  }
  const retries = str(f, 'retries');
  if (retries !== undefined && retries !== '') {
    const n = /^[+-]?\d+$/.test(retries) ? Number(retries) : NaN;
    if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new Invalid(`HEALTHCHECK --retries: invalid number "${retries}"`);
    if (n < 0) throw new Invalid(`HEALTHCHECK --retries cannot be negative (${n})`);
  }
  return {
    keyword: 'HEALTHCHECK',
    none: false,
    command: argv ? { kind: 'exec', argv } : { kind: 'shell', command: after },
    ...opt('interval', str(f, 'interval')),
    ...opt('timeout', str(f, 'timeout')),
    ...opt('startPeriod', str(f, 'start-period')),
    ...opt('startInterval', str(f, 'start-interval')),
    ...opt('retries', retries),
  };
}

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, '\u00b5s': 1e3, '\u03bcs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`1m30s`, `.5h`, `-2ms`, `0`) in nanoseconds; undefined when it is not one. */
export function goDuration(s: string): number | undefined {
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.replace(/^[-+]/, '');
  if (body === '0') return 0;
  if (!/^(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.test(body)) return undefined;
  let total = 0;
  for (const m of body.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_NS[m[2]!]!;
  return sign * total;
}

type Flags = Map<string, string | string[]>;

/** Checks flag words against what `keyword` takes: booleans come back as 'true' or 'false'. */
function parseFlags(keyword: Keyword, words: readonly string[]): Flags {
  const known = FLAGS[keyword] ?? {};
  const names = Object.keys(known);
  const out: Flags = new Map();
  for (const word of words) {
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const kind = known[name];
    if (kind === undefined) {
      const near = nearest(name, names);
      const hint = near ? `did you mean --${near}?` : names.length > 0 ? `${keyword} takes ${names.map((n) => `--${n}`).join(', ')}` : `${keyword} takes no flags`;
      throw new Invalid(`unknown flag --${name} for ${keyword}`, hint);
    }
    if (out.has(name) && kind !== 'strings') throw new Invalid(`duplicate flag specified: --${name}`);
    if (kind === 'bool') {
      if (value === '') throw new Invalid(`missing a value on flag: --${name}`, `write --${name} or --${name}=false`);
      const b = (value ?? 'true').toLowerCase();
      if (b !== 'true' && b !== 'false') throw new Invalid(`expecting boolean value for flag --${name}, not: ${value}`);
      out.set(name, b);
    } else if (value === undefined) {
      throw new Invalid(`missing a value on flag: --${name}`, `write --${name}=<value>`);
    } else if (kind === 'string') {
      out.set(name, value);
    } else {
      out.set(name, [...((out.get(name) as string[] | undefined) ?? []), value]);
    }
  }
  return out;
}

/** The candidate within Levenshtein distance 2 of `word` (the nearest, then the first in order). */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

// ---- word expansion (BuildKit's shell lexer) ----------------------------------------------------

/**
 * Docker's word processing of an instruction argument: quotes removed, escapes applied,
 * variables expanded from `lookup` ($VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w},
 * ${VAR:?msg} ${VAR?msg}, ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r} with glob
 * patterns). Single quotes are literal; in double quotes variables expand. Unset variables
 * expand to ''. Throws ExpansionError.
 */
export function expandWord(word: string, lookup: Lookup, escape: '\\' | '`' = '\\'): string {
  return expanding(word, () => new Lexer(word, { escape, lookup }).run().text);
}

/**
 * A word list: split on unquoted whitespace first (quotes and escapes kept), then each word
 * expanded with expandWord; a value with spaces stays one word. Throws ExpansionError.
 */
export function expandWords(text: string, lookup: Lookup, escape: '\\' | '`' = '\\'): string[] {
  return splitWords(text, escape).map((w) => expandWord(w, lookup, escape));
}

/** A heredoc body of COPY or ADD with `expand`: variables and escapes, quotes kept as they are. */
export function expandHeredoc(body: string, lookup: Lookup): string {
  return expanding(body, () => new Lexer(body, { escape: '\\', lookup, skipQuotes: true }).run().text);
}

function expanding(word: string, f: () => string): string {
  try {
    return f();
  } catch (e) {
    if (e instanceof Invalid) throw new ExpansionError(`failed to process ${JSON.stringify(word)}: ${e.message}`, e.hint);
    throw e;
  }
}

interface LexOptions {
  readonly escape: string;
  readonly lookup: Lookup;
  /** Quotes stay in the text. */
  readonly rawQuotes?: boolean;
  /** Escape characters stay in the text. */
  readonly rawEscapes?: boolean;
  /** An unset variable stays as written. */
  readonly skipUnset?: boolean;
  /** Quotes are ordinary characters. */
  readonly skipQuotes?: boolean;
}

const DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;
const SPECIAL_PARAMS = '@*#?-$!0';

/** Words and their split on whitespace; whitespace within quotes or added raw never splits. */
class Words {
  readonly list: string[] = [];
  private buf = '';
  private inWord = false;

  char(ch: string): void {
    if (!isSpace(ch)) this.rawChar(ch);
    else if (this.inWord && this.buf !== '') {
      this.list.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
  }
  rawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }
  text(s: string): void {
    for (const ch of s) this.char(ch);
  }
  rawText(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  end(): string[] {
    if (this.buf !== '') this.list.push(this.buf);
    this.buf = '';
    return this.list;
  }
}

/** The shell-like lexer of Dockerfile words (BuildKit's shell.Lex), over code points. */
class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    text: string,
    private readonly o: LexOptions,
  ) {
    this.chars = Array.from(text);
    this.rawEscapes = o.rawEscapes ?? false;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.pos < this.chars.length ? this.chars[this.pos++] : undefined;
  }

  /** Reads to `stop` (consumed) or to the end: the processed text and its words. */
  run(stop?: string, rawEscapes = this.rawEscapes): { text: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let text = '';
      const words = new Words();
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (ch === stop) {
          this.next();
          return { text, words: words.end() };
        }
        if (ch === '$') {
          const v = this.dollar();
          text += v;
          words.text(v); // an expanded value splits on its whitespace
          continue;
        }
        const special = ch === '<' ? this.angle() : !this.o.skipQuotes && ch === "'" ? this.single() : !this.o.skipQuotes && ch === '"' ? this.double() : undefined;
        if (special !== undefined) {
          text += special;
          words.rawText(special);
          continue;
        }
        this.next();
        if (ch !== this.o.escape) {
          text += ch;
          words.char(ch);
          continue;
        }
        if (this.rawEscapes) {
          text += ch;
          words.rawChar(ch);
        }
        const escaped = this.next();
        if (escaped === undefined) break; // an escape at the end is dropped
        text += escaped;
        words.rawChar(escaped);
      }
      if (stop !== undefined) throw new Invalid(`unexpected end of statement while looking for matching ${stop}`);
      return { text, words: words.end() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private single(): string {
    const open = this.next()!;
    let text = this.o.rawQuotes ? open : '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new Invalid('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.o.rawQuotes ? text + ch : text;
      text += ch;
    }
  }

  /** In double quotes the escape only escapes `"`, `$` and itself; elsewhere it stays. */
  private double(): string {
    const open = this.next()!;
    let text = this.o.rawQuotes ? open : '';
    for (;;) {
      const p = this.peek();
      if (p === undefined) throw new Invalid('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return this.o.rawQuotes ? text + p : text;
      }
      if (p === '$') {
        text += this.dollar();
        continue;
      }
      const ch = this.next()!;
      if (ch !== this.o.escape) {
        text += ch;
        continue;
      }
      const after = this.peek();
      if (after === '"' || after === '$' || after === this.o.escape) text += (this.rawEscapes ? ch : '') + this.next()!;
      else if (after !== undefined || this.rawEscapes) text += ch;
    }
  }

  /** `<<` and the blanks after it belong to the heredoc delimiter's word. */
  private angle(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let text = '<<';
    for (let p = this.peek(); p === '\t' || p === '\r' || p === ' '; p = this.peek()) text += this.next()!;
    return text;
  }

  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        while (this.peek() !== undefined && DIGIT.test(this.peek()!)) name += this.next()!;
        return name; // a positional parameter
      }
      if (name === '' && SPECIAL_PARAMS.includes(ch)) return this.next()!;
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next()!;
    }
    return name;
  }

  private dollar(): string {
    this.next();
    const { lookup, skipUnset } = this.o;
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const v = lookup(name);
      return v === undefined && skipUnset ? `$${name}` : (v ?? '');
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new Invalid("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Invalid('syntax error: bad substitution');
    const name = this.name();
    let ch = this.next();
    if (ch === undefined) throw new Invalid("syntax error: missing '}'");
    if (ch === '}') {
      const v = lookup(name);
      return v === undefined && skipUnset ? `\${${name}}` : (v ?? '');
    }
    if (ch === '/') return this.replace(name);
    let op = ch;
    if (ch === ':') {
      ch = this.next();
      if (ch === undefined) throw new Invalid("syntax error: missing '}'");
      op += ch;
    }
    const trims = ch === '#' || ch === '%';
    if (!'+-?#%'.includes(ch) || (trims && op.length === 2)) throw new Invalid(`unsupported modifier (${op}) in substitution`);
    const word = this.upTo('}', trims, "syntax error: missing '}'");
    const v = lookup(name);
    if (v === undefined && skipUnset) return `\${${name}${op}${word}}`;
    const empty = v === undefined || (op.length === 2 && v === '');
    switch (ch) {
      case '-':
        return empty ? word : v!;
      case '+':
        return empty ? '' : word;
      case '?':
        if (v === undefined) throw new Invalid(`${name}: ${word || 'is not allowed to be unset'}`);
        if (empty) throw new Invalid(`${name}: ${word || 'is not allowed to be empty'}`);
        return v;
      default: {
        // `#`/`%` trim the shortest match, `##`/`%%` the longest
        const greedy = word.startsWith(ch);
        const pattern = greedy ? word.slice(1) : word;
        return ch === '#' ? trimPrefix(pattern, v ?? '', greedy) : trimSuffix(pattern, v ?? '', greedy);
      }
    }
  }

  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.upTo('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.upTo('}', true, "syntax error: missing '}'");
    const v = this.o.lookup(name);
    if (v === undefined && this.o.skipUnset) return `\${${name}/${all ? '/' : ''}${pattern}/${replacement}}`;
    const re = shellPattern(pattern, true, false, all ? 'g' : '');
    return (v ?? '').replace(re, () => replacement);
  }

  /** The processed text up to `stop`; `missing` when the text ends first. */
  private upTo(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.run(stop, rawEscapes).text;
    } catch (e) {
      if (e instanceof Invalid && this.peek() === undefined) throw new Invalid(missing);
      throw e;
    }
  }
}

/** A shell glob (`*`, `?`, `\` escaping `*`, `?` or `\`) as a regular expression. */
function shellPattern(pattern: string, greedy: boolean, anchored: boolean, flags = ''): RegExp {
  const cs = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let k = 0; k < cs.length; k++) {
    const c = cs[k]!;
    if (c === '*') out += greedy ? '[^\\n]*' : '[^\\n]*?';
    else if (c === '?') out += '[^\\n]';
    else if (c === '\\') {
      const n = cs[k + 1];
      if (n === '}' || n === '/') continue; // escaped only to get through ${...}
      k++;
      if (n !== '*' && n !== '?' && n !== '\\') throw new Invalid(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      out += `\\${n}`;
    } else if ('[]{}.+()|^$'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  return new RegExp(out, `u${flags}`);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPattern(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** The shortest (or longest) suffix, found as a prefix of the reversed value. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reverse = (s: string): string => Array.from(s).reverse().join('');
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/** A pattern reversed, each escape kept before the character it escapes. */
function reversePattern(pattern: string): string {
  const cs = Array.from(pattern);
  const units: string[] = [];
  for (let k = 0; k < cs.length; k++) {
    if (cs[k] === '\\' && k < cs.length - 1) units.push(cs[k]! + cs[++k]!);
    else units.push(cs[k]!);
  }
  return units.reverse().join('');
}

// The .env format as compose reads it: KEY=VAL, `export KEY=VAL`, `KEY: VAL`, a bare KEY taking
// the host's value, '#' comments, single quotes literal, double quotes with escapes, and ${VAR}
// interpolation (unquoted and double-quoted values) from the environment, then earlier keys.
import { readText } from './fs.js';
import { SpecError, type Diagnostic } from './diagnostics.js';
import type { Location } from './raw.js';
import { substitute, TemplateError } from './interpolate.js';

const KEY = /^[\p{L}\p{N}_.\-[\]]+$/u;
const EXPORT = /^export[ \t]+(?=\S)/;

/** Parses the text of an env file; throws SpecError listing every malformed line. */
export function parseDotenv(
  text: string,
  file: string,
  lookup: (k: string) => string | undefined = () => undefined,
): Record<string, string> {
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const out: Record<string, string> = Object.create(null);
  const errors: Diagnostic[] = [];
  const lines = src.split('\n');
  const fail = (line: number, col: number, message: string, hint?: string): void => {
    errors.push({ severity: 'error', code: 'ENV_FILE', location: { file, line, col }, message, ...(hint ? { hint } : {}) });
  };
  const expand = (value: string, line: number, col: number): string => {
    try {
      return substitute(value, (k) => lookup(k) ?? out[k]);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      fail(line, col + (value.includes('\n') ? 0 : e.offset), e.message, e.hint);
      return value;
    }
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const indent = raw.length - raw.trimStart().length;
    let rest = raw.slice(indent);
    if (rest === '' || rest.startsWith('#')) continue;
    let col = indent + 1;
    const exp = EXPORT.exec(rest);
    if (exp) {
      rest = rest.slice(exp[0].length);
      col += exp[0].length;
    }
    const sep = rest.search(/[=:]/);
    const key = (sep < 0 ? rest : rest.slice(0, sep)).trimEnd();
    if (!KEY.test(key)) {
      const bad = [...key].find((c) => !KEY.test(c));
      fail(
        lineNo,
        col,
        key === '' ? 'a variable name is missing before "="' : `unexpected character ${JSON.stringify(bad)} in variable name ${JSON.stringify(key)}`,
        'lines look like KEY=value; names hold letters, digits, _ . - [ ]',
      );
      continue;
    }
    if (sep < 0) {
      const inherited = lookup(key);
      if (inherited !== undefined) out[key] = inherited;
      continue;
    }
    let value = rest.slice(sep + 1);
    let vcol = col + sep + 1;
    const lead = value.length - value.replace(/^[ \t]+/, '').length;
    value = value.slice(lead);
    vcol += lead;
    const quote = value[0];
    if (quote !== '"' && quote !== "'") {
      const comment = value.indexOf(' #');
      if (comment >= 0) value = value.slice(0, comment);
      out[key] = expand(value.trimEnd(), lineNo, vcol);
      continue;
    }
    // A quoted value may span lines: scan from the opening quote to its unescaped twin.
    let text2 = value.slice(1);
    let endLine = i;
    let chars = '';
    let closed = -1;
    for (;;) {
      const r = scanQuoted(text2, quote);
      chars += r.chars;
      if (r.close >= 0) {
        closed = r.close;
        break;
      }
      if (endLine + 1 >= lines.length) break;
      endLine++;
      chars += '\n';
      text2 = lines[endLine]!;
    }
    if (closed < 0) {
      fail(lineNo, vcol, `unterminated quoted value ${value.split('\n')[0]}`, `close it with ${quote}`);
      break;
    }
    const after = text2.slice(closed + 1).trim();
    if (after !== '' && !after.startsWith('#')) {
      fail(endLine + 1, 1, `unexpected text after the closing quote: ${after}`, 'put a comment after " #", or quote the whole value');
    }
    out[key] = quote === '"' ? expand(unescape(chars), lineNo, vcol + 1) : chars;
    i = endLine;
  }
  if (errors.length > 0) throw new SpecError(errors);
  return { ...out };
}

/** Reads a quoted run as compose does: a backslash before the quote keeps the quote, other
 * backslashes are kept for `unescape`. `close` is the index of the closing quote or -1. */
function scanQuoted(s: string, quote: string): { chars: string; close: number } {
  let chars = '';
  let escaped = false;
  for (let j = 0; j < s.length; j++) {
    const c = s[j]!;
    if (c === quote) {
      if (escaped) {
        chars += c;
        escaped = false;
        continue;
      }
      return { chars, close: j };
    }
    if (!escaped && c === '\\') {
      escaped = true;
      continue;
    }
    if (escaped) chars += '\\';
    escaped = false;
    chars += c;
  }
  if (escaped) chars += '\\';
  return { chars, close: -1 };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\', $: '$$' };

/** Double-quote escapes as compose supports them; `\$` stays a literal `$` after interpolation. */
function unescape(s: string): string {
  return s.replace(/\\(0[0-7]{0,3}|.)/g, (m, c: string) => {
    if (c.startsWith('0')) return String.fromCharCode(parseInt(c, 8));
    return ESCAPES[c] ?? m;
  });
}

/** Reads env files in order (later ones win), each interpolated from `env` then earlier values.
 * Files that cannot be read are errors naming them, placed at `from` (the reference) if given. */
export function readEnvFiles(
  files: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  from?: Location,
): Record<string, string> {
  const out: Record<string, string> = {};
  const errors: Diagnostic[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readText(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      errors.push({
        severity: 'error',
        code: 'ENV_FILE',
        ...(from ? { location: from } : {}),
        message: `cannot read env file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? String(e))}`,
        hint: 'check the path; env files are relative to the folder they are named from',
      });
      continue;
    }
    try {
      Object.assign(out, parseDotenv(text, file, (k) => env[k] ?? out[k]));
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      errors.push(...e.diagnostics);
    }
  }
  if (errors.length > 0) throw new SpecError(errors);
  return out;
}

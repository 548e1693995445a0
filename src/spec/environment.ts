// A service's environment: env_file entries first, then `environment`, with a bare `KEY`
// taking the value from the project's environment (host env over .env), as compose does.
import { readText } from './fs.js';
import { resolve } from 'node:path';
import { parseDotenv } from './dotenv.js';
import { SpecError } from './diagnostics.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { asBoolean } from './units.js';

/** A `KEY: value` mapping or a `KEY=value` list, as compose allows for environment and labels. */
export type ListOrDict = Readonly<Record<string, string | number | boolean | null>> | readonly string[];

/**
 * Flattens a list-or-dict into a map. `unset(key)` decides the value of a key given without
 * one (`KEY` in a list, `KEY:` in a map); returning undefined leaves the key out.
 */
export function listOrDict(value: ListOrDict | undefined, unset: (key: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  const put = (key: string, v: string | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  if (Array.isArray(value)) {
    for (const item of value as readonly string[]) {
      const eq = item.indexOf('=');
      if (eq < 0) put(item, unset(item));
      else put(item.slice(0, eq), item.slice(eq + 1));
    }
  } else {
    for (const [key, v] of Object.entries(value)) put(key, v === null ? unset(key) : String(v));
  }
  return out;
}

/** One `env_file:` entry as validated. */
export type EnvFileEntry = string | { path: string; required?: boolean | string | undefined };

/** Reads a service's env files in order (later ones win); missing optional files are skipped. */
export function readServiceEnvFiles(
  entries: string | readonly EnvFileEntry[] | undefined,
  path: KeyPath,
  workingDir: string,
  env: Readonly<Record<string, string>>,
  report: Report,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (entries === undefined) return out;
  const list = typeof entries === 'string' ? [entries] : entries;
  list.forEach((entry, i) => {
    const at = typeof entries === 'string' ? path : [...path, i];
    const file = resolve(workingDir, typeof entry === 'string' ? entry : entry.path);
    const required = typeof entry === 'string' ? true : asBoolean(entry.required, true);
    let text: string;
    try {
      text = readText(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !required) return;
      report.error(at, 'ENV_FILE', `cannot read env file ${file} (${code ?? String(e)})`, {
        hint: code === 'ENOENT' ? 'create it, or mark it optional with `{path: ..., required: false}`' : undefined,
      });
      return;
    }
    try {
      Object.assign(out, parseDotenv(text, file, (k) => env[k]));
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      report.diagnostics.push(...e.diagnostics);
    }
  });
  return out;
}

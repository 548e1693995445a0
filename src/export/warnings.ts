// What the exporter says about a spec: a warning for each change of meaning or loss (by service
// and key), a refusal for what cannot be carried at all. Both are collected, never thrown one
// at a time, so a user sees every problem of a spec in one run.
import { UserError } from '../errors.js';

/** A change of meaning or a loss, named by where it comes from. */
export interface ExportWarning {
  /** The compose service, or undefined for a project-level key (networks:, volumes:, ...). */
  readonly service?: string;
  /** The compose key, as a path: `ports[0]`, `depends_on.db`, `volumes.pgdata`. */
  readonly key: string;
  /** What changes and why, one sentence. */
  readonly message: string;
}

/** Something the exporter cannot carry: it stops with exit 1. */
export interface ExportRefusal {
  readonly service?: string;
  readonly key: string;
  readonly message: string;
  readonly hint: string;
}

/** The warnings and refusals of one export, in the order they were found. */
export class Findings {
  readonly warnings: ExportWarning[] = [];
  readonly refusals: ExportRefusal[] = [];

  /** Names a change of meaning or a loss. */
  warn(service: string | undefined, key: string, message: string): void {
    this.warnings.push({ service, key, message });
  }

  /** Names something that cannot be exported. */
  refuse(service: string | undefined, key: string, message: string, hint: string): void {
    this.refusals.push({ service, key, message, hint });
  }
}

/** One warning as stderr shows it: `warning: web: ports[0]: ...`. */
export function formatWarning(w: ExportWarning): string {
  return `warning: ${w.service ?? '(project)'}: ${w.key}: ${w.message}`;
}

/** All refusals as one UserError (exit 1), each line naming its service and key. */
export function refusalError(refusals: readonly ExportRefusal[]): UserError {
  const lines = refusals.map((r) => `  ${r.service ?? '(project)'}: ${r.key}: ${r.message}`);
  const hints = [...new Set(refusals.map((r) => r.hint))];
  return new UserError(
    'EXPORT_REFUSED',
    `cannot export to Kubernetes (${refusals.length} problem${refusals.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    hints.join('; '),
  );
}

/** `--strict`: the warnings as one UserError (exit 1). */
export function strictError(warnings: readonly ExportWarning[]): UserError {
  return new UserError(
    'EXPORT_STRICT',
    `--strict: ${warnings.length} change${warnings.length === 1 ? '' : 's'} of meaning (listed above)`,
    'remove --strict to write the manifests anyway, or change the spec so nothing is lost',
  );
}

// Foreground `up` output: every line of a service prefixed with its name, padded to the
// longest name and coloured per service when the stream is a TTY (compose's `web  | ...`).

import { replicaLabels } from '../../planner/replicas.js';

const COLOURS = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

/** How a service's lines are printed: `logs`' and a foreground `up`'s --no-log-prefix, --no-color, --timestamps. */
export interface LineFormat {
  readonly prefix: boolean;
  readonly colour: boolean;
  readonly timestamps: boolean;
}

/** A function that formats a log line of `service` (its time, RFC 3339, and text) as `name | [time ]text`, as `format` says. */
export function lineFormatter(services: readonly string[], format: LineFormat): (service: string, line: { readonly time: string; readonly text: string }) => string {
  const prefix = format.prefix ? logPrefixer(services, format.colour) : (_: string, text: string) => text;
  return (service, line) => prefix(service, format.timestamps ? `${line.time} ${line.text}` : line.text);
}

/** A function that formats `line` of `service` as `name | line`. */
export function logPrefixer(services: readonly string[], colour: boolean): (service: string, line: string) => string {
  // Replicas of a scaled service as `web-1`, `web-2` (planner/replicas.ts), as compose prefixes them.
  const labels = replicaLabels(services);
  const width = Math.max(0, ...[...labels.values()].map((s) => s.length));
  const sorted = [...services].sort();
  return (service, line) => {
    const name = (labels.get(service) ?? service).padEnd(width);
    if (!colour) return `${name} | ${line}`;
    const code = COLOURS[Math.max(0, sorted.indexOf(service)) % COLOURS.length];
    return `\u001b[${code}m${name} |\u001b[0m ${line}`;
  };
}

// The small keys about the service's process itself that the launcher acts on: `oom_score_adj`
// (its /proc/self/oom_score_adj), `domainname` (its UTS namespace's NIS domain name) and
// `group_add` (supplementary groups, by name in the service's group database or by number).
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { parseInteger } from './units.js';

/** What the spec says about the service's process. */
export interface ProcessKeys {
  readonly oomScoreAdj?: number;
  readonly domainname?: string;
  readonly groupAdd?: readonly string[];
}

/** Reads `oom_score_adj`, `domainname` and `group_add`; problems go to `report`. */
export function processKeys(spec: Readonly<Record<string, unknown>>, at: (...rest: (string | number)[]) => KeyPath, report: Report): ProcessKeys {
  const out: { oomScoreAdj?: number; domainname?: string; groupAdd?: string[] } = {};
  if (spec.oom_score_adj !== undefined) {
    const n = parseInteger(spec.oom_score_adj);
    if (!n.ok || n.value < -1000 || n.value > 1000) {
      report.error(at('oom_score_adj'), 'BAD_OOM_SCORE_ADJ', `\`${String(spec.oom_score_adj)}\` is not an OOM score adjustment`, {
        expected: 'a whole number from -1000 (never killed) to 1000 (killed first)',
      });
    } else out.oomScoreAdj = n.value;
  }
  if (typeof spec.domainname === 'string') {
    // The kernel's __NEW_UTS_LEN: 64 bytes.
    if (Buffer.byteLength(spec.domainname) > 64 || /[\0\n]/.test(spec.domainname)) {
      report.error(at('domainname'), 'BAD_DOMAINNAME', `\`${spec.domainname}\` is not a domain name the kernel takes`, { expected: 'at most 64 bytes on one line, e.g. example.com' });
    } else if (spec.domainname !== '') out.domainname = spec.domainname;
  }
  if (Array.isArray(spec.group_add)) {
    const groups: string[] = [];
    spec.group_add.forEach((g: unknown, i) => {
      const text = String(g).trim();
      if (!/^([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(text) || (/^\d+$/.test(text) && Number(text) > 0xfffffffe)) {
        report.error(at('group_add', i), 'BAD_GROUP', `\`${String(g)}\` is not a group`, { expected: 'a group name (from the service\'s /etc/group) or a gid, e.g. audio or 29' });
      } else groups.push(text);
    });
    if (groups.length > 0) out.groupAdd = groups;
  }
  return out;
}

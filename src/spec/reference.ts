// The reference of spec keys (for the README), generated from the key catalogue so that the
// documentation and what validation accepts cannot drift apart.
import { KEY_DOCS } from './key-docs.js';
import { COSMETIC_REASONS, describeLevel, KEYS, UNSUPPORTED_REASONS, type KeyStatus, type Level } from './keys.js';

const SHOWN: readonly Level[] = ['top', 'service', 'network', 'volume', 'secret', 'config', 'serviceSecret'];

/** Markdown: per level, the supported keys with their help, then modelled, cosmetic and unsupported ones. */
export function keyReference(): string {
  const out: string[] = [];
  for (const level of SHOWN) {
    const keys = Object.entries(KEYS[level]);
    const names = (status: KeyStatus) => keys.filter(([, s]) => s === status).map(([k]) => `\`${k}\``);
    out.push(`### ${describeLevel(level)}`, '', '| key | what stack does with it |', '|---|---|');
    for (const [key, status] of keys) {
      if (status === 'supported' || status === 'modelled') out.push(`| \`${key}\` | ${KEY_DOCS[level]?.[key] ?? ''} |`);
    }
    out.push('');
    if (names('cosmetic').length > 0) out.push(`Accepted with a warning (no effect): ${names('cosmetic').join(', ')}.`, '');
    if (names('unsupported').length > 0) out.push(`Refused by name (not supported yet): ${names('unsupported').join(', ')}.`, '');
    // What stack does instead, for the warned and refused keys that have more to say (tty, external_links, ...).
    const why = keys.flatMap(([key, s]) => {
      const reason = s === 'cosmetic' ? COSMETIC_REASONS[key] : s === 'unsupported' ? UNSUPPORTED_REASONS[key] : undefined;
      return reason === undefined ? [] : [`- \`${key}\`: ${reason}.`];
    });
    if (why.length > 0) out.push(...why, '');
  }
  out.push('Any other key is an error with a "did you mean" suggestion; `x-` keys are allowed and ignored.', '');
  return out.join('\n');
}

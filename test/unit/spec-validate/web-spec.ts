// Test helper: a spec of one service `web` (`command: sleep 1` plus the keys given), validated
// and normalized as the loader does, for the tests of service keys.
import { expect } from 'vitest';
import { normalize } from '../../../src/spec/normalize.js';
import type { Service } from '../../../src/spec/project.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

/** `body` (YAML keys of the service, unindented) loaded: the structural errors, the project and its diagnostics. */
export function loadWeb(body: string) {
  const raw = rawSpec(`services:\n  web:\n    command: sleep 1\n${body.replace(/^/gm, '    ')}\n`, { env: {}, workingDir: '/proj' });
  const structural = validate(raw).filter((d) => d.severity === 'error');
  return { structural, ...normalize(raw, { profiles: [] }) };
}

/** The service `web` of `body`, checking that it loads without errors. */
export function web(body: string): Service {
  const { structural, project, diagnostics } = loadWeb(body);
  expect([...structural, ...diagnostics.filter((d) => d.severity === 'error')]).toEqual([]);
  return project.services.web!;
}

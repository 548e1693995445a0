// Registries listed as insecure (http): STACK_INSECURE_REGISTRIES and Docker's daemon.json
// "insecure-registries", read from a real file; a missing or malformed file lists none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { insecureRegistries } from '../../../src/image/insecure.js';
import { isInsecureRegistry } from '../../../src/image/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-insecure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the environment list and daemon.json are merged; CIDRs and bad entries of daemon.json are left out', () => {
  const daemon = join(dir, 'daemon.json');
  writeFileSync(daemon, JSON.stringify({ 'insecure-registries': ['reg.lan:5000', '10.0.0.0/8', 7, ''] }));
  expect(insecureRegistries({ STACK_INSECURE_REGISTRIES: 'a.example:443, b.example' }, daemon)).toEqual(['a.example:443', 'b.example', 'reg.lan:5000']);
});

test('no variable and no daemon.json, or a malformed one: nothing listed, so only loopback speaks http', () => {
  expect(insecureRegistries({}, join(dir, 'absent.json'))).toEqual([]);
  writeFileSync(join(dir, 'bad.json'), '{not json');
  expect(insecureRegistries({}, join(dir, 'bad.json'))).toEqual([]);
  expect(isInsecureRegistry('reg.lan:5000', [])).toBe(false);
  expect(isInsecureRegistry('reg.lan:5000', insecureRegistries({ STACK_INSECURE_REGISTRIES: 'reg.lan:5000' }, join(dir, 'absent.json')))).toBe(true);
  expect(isInsecureRegistry('127.0.0.1:5000', [])).toBe(true);
});

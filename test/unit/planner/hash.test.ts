import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  attachmentHash,
  canonicalJson,
  changedFields,
  composeKey,
  describeChange,
  fieldHash,
  hashNetwork,
  hashService,
} from '../../../src/planner/hash.js';
import { needs, network, service } from './fixtures.js';

describe('canonicalJson', () => {
  test('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"x":null,"z":1}]},"b":1}',
    );
  });

  test('key order does not change the text, array order does', () => {
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});

describe('hashService', () => {
  test('equal specs built in another key order hash the same', () => {
    const a = service('web', { environment: { A: '1', B: '2' } });
    const b = service('web', { environment: { B: '2', A: '1' } });
    expect(hashService(a)).toEqual(hashService(b));
    expect(hashService(a).hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    ['environment', { environment: { A: '2' } }],
    ['command', { command: ['node', 'x.js'] }],
    ['ports', { ports: [{ hostIp: '127.0.0.1', hostPort: 1, containerPort: 1, protocol: 'tcp' as const }] }],
    ['stop_grace_period', { stopGracePeriodMs: 1 }],
    ['cap_add', { capAdd: ['NET_ADMIN'] }],
    ['user', { user: 'node' }],
  ])('a change of %s changes the hash and is named', (field, over) => {
    const before = hashService(service('web', { environment: { A: '1' } }));
    const after = hashService(service('web', { environment: { A: '1' }, ...over }));
    expect(after.hash).not.toBe(before.hash);
    expect(changedFields(before, after)).toEqual([field]);
    expect(describeChange(before, after)).toBe(`${field} changed`);
  });

  test.each([
    ['depends_on', { dependsOn: needs('db') }],
    ['profiles', { profiles: ['debug'] }],
    ['develop', { develop: { watch: [] } }],
    ['build', { build: { context: '/x', args: {} } }],
  ])('%s does not take part in the hash', (_, over) => {
    expect(hashService(service('web', over)).hash).toBe(hashService(service('web')).hash);
  });
});

describe('hashNetwork', () => {
  test('subnet and internal change it, labels do not', () => {
    const base = hashNetwork(network('back'));
    expect(describeChange(base, hashNetwork(network('back', { internal: true })))).toBe('internal changed');
    expect(describeChange(base, hashNetwork(network('back', { ipam: [{ subnet: '10.9.0.0/24' }] })))).toBe('ipam changed');
    expect(hashNetwork(network('back', { labels: { a: 'b' } })).hash).toBe(base.hash);
  });
});

describe('describeChange', () => {
  const stamp = (fields: Record<string, string>) => ({ hash: JSON.stringify(fields), fields });

  test.each([
    [{ a: '1' }, { a: '2' }, 'a changed'],
    [{ a: '1', b: '1' }, { a: '2', b: '2' }, 'a and b changed'],
    [{ a: '1', b: '1', c: '1' }, { a: '2', b: '2', c: '2' }, 'a, b and c changed'],
    [{ a: '1', b: '1', c: '1', d: '1', e: '1' }, { a: '2', b: '2', c: '2', d: '2', e: '2' }, 'a, b, c and 2 more changed'],
    [{ a: '1' }, { a: '1', user: '1' }, 'user changed'],
    [{}, { a: '1' }, 'a changed'],
    [{ a: '1' }, { a: '1' }, 'config changed'],
  ])('%j → %j: %s', (before, after, text) => {
    expect(describeChange(stamp(before), stamp(after))).toBe(text);
  });
});

describe('per-field hashes', () => {
  test('are the same for the same text, and differ when one character does (at either end)', () => {
    const text = canonicalJson({ environment: { A: '1', B: 'two' } });
    expect(fieldHash(text)).toBe(fieldHash(`${text}`));
    expect(fieldHash(text)).toMatch(/^f:[0-9a-f]{16}$/);
    expect(fieldHash(text.replace('1', '2'))).not.toBe(fieldHash(text));
    expect(fieldHash(`${text} `)).not.toBe(fieldHash(text));
    expect(fieldHash('ba')).not.toBe(fieldHash('ab'));
  });

  test('a stamp names its fields by them', () => {
    const stamp = hashService(service('web', { command: ['a'] }));
    expect(Object.values(stamp.fields).every((h) => /^f:[0-9a-f]{16}$/.test(h))).toBe(true);
  });

  test("a record of an older stack (a sha256's 16 hex digits a field) is compared with the new stamp's fields hashed that way", () => {
    const sha16 = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
    const now = hashService(service('web', { command: ['a'], environment: { A: '1' } }));
    // What an older stack recorded for the same service with another command: each hashed field's sha256.
    const was = service('web', { command: ['b'], environment: { A: '1' } }) as unknown as Record<string, unknown>;
    const hashedKeys = new Set(Object.keys(hashService(service('web', { command: ['b'], environment: { A: '1' } })).fields));
    const fields = Object.fromEntries(Object.entries(was).filter(([f, v]) => v !== undefined && hashedKeys.has(composeKey(f))).map(([f, v]) => [composeKey(f), sha16(v)]));
    const older = { hash: 'old', fields };
    expect(Object.keys(fields).sort()).toEqual([...hashedKeys].sort());
    expect(describeChange(older, now)).toBe('command changed');
    // Two records' stamps, hashed differently: nothing to tell by.
    expect(describeChange(older, { hash: 'new', fields: { command: fieldHash('"x"') } })).toBe('config changed');
  });
});

test('composeKey maps model fields back to compose keys', () => {
  expect(['stopGracePeriodMs', 'extraHosts', 'workingDir', 'environment'].map(composeKey)).toEqual([
    'stop_grace_period',
    'extra_hosts',
    'working_dir',
    'environment',
  ]);
});

test('attachmentHash depends on the interface index and the fixed address', () => {
  expect(attachmentHash(0, undefined)).toBe(attachmentHash(0, undefined));
  expect(attachmentHash(0, undefined)).not.toBe(attachmentHash(1, undefined));
  expect(attachmentHash(0, undefined)).not.toBe(attachmentHash(0, '10.0.0.5'));
});

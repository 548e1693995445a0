// The naming contract (src/names.ts): every (project, service) pair and every project gets a
// kernel name of its own, readable where the limits allow, within the kernel's limits.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  cgroupPath, IFNAME_MAX, isValidServiceName, netnsName, netnsPrefix, nftTableName, bridgeName, vethHostName,
  NETNS_PART_MAX, PROJECT_NAME_PATTERN,
} from '../../../src/names.js';

describe('the collisions of issue 9 are gone', () => {
  test('project a + service b-web and project a-b + service web: two namespaces', () => {
    expect(netnsName('a', 'b-web')).toBe('stk-a.b-web');
    expect(netnsName('a-b', 'web')).toBe('stk-a-b.web');
    expect(netnsName('a', 'b-web')).not.toBe(netnsName('a-b', 'web'));
  });

  test('my-app and my_app: two nftables tables', () => {
    expect(nftTableName('my-app')).toBe('stack_my-app');
    expect(nftTableName('my_app')).toBe('stack_my_app');
  });

  test("a project's netns prefix is not the start of another project's names", () => {
    // gc of `a` must not take `a-b`'s namespaces, nor gc of `a-b` those of `a` + service `b-web`.
    expect(netnsName('a-b', 'web').startsWith(netnsPrefix('a'))).toBe(false);
    expect(netnsName('a', 'b-web').startsWith(netnsPrefix('a-b'))).toBe(false);
    expect(netnsName('a', 'b-web').startsWith(netnsPrefix('a'))).toBe(true);
    expect(netnsName('a', '')).toBe(netnsPrefix('a'));
    expect(netnsPrefix('a')).toBe('stk-a.');
  });
});

const alphabet = {
  project: 'abz09_-',
  service: 'aZ9._-',
};

function randomName(chars: string, first: string, max: number): string {
  const length = 1 + (randomBytes(1)[0]! % max);
  const bytes = randomBytes(length);
  let s = first[bytes[0]! % first.length]!;
  for (let i = 1; i < length; i++) s += chars[bytes[i]! % chars.length]!;
  return s;
}

function randomProject(max: number): string {
  return randomName(alphabet.project, 'ab0', max);
}

function randomService(max: number): string {
  for (;;) {
    const s = randomName(alphabet.service, alphabet.service, max);
    if (isValidServiceName(s)) return s;
  }
}

describe('injective over many random pairs (a small alphabet, so near-misses are frequent)', () => {
  test.each([
    ['short names', 6],
    ['names around the readable limit', NETNS_PART_MAX + 3],
  ])('%s', (_label, max) => {
    const netns = new Map<string, string>();
    const tables = new Map<string, string>();
    const wrong: string[] = [];
    for (let i = 0; i < 10000; i++) {
      const project = max > 10 && i % 2 ? randomProject(4) + 'x'.repeat(NETNS_PART_MAX - 6 + (i % 7)) : randomProject(max);
      const service = max > 10 && i % 3 ? randomService(4) + 'y'.repeat(NETNS_PART_MAX - 6 + (i % 5)) : randomService(max);
      const pair = JSON.stringify([project, service]);
      const name = netnsName(project, service);
      const seen = netns.get(name);
      if (seen !== undefined && seen !== pair) wrong.push(`${name}: ${seen} and ${pair}`);
      netns.set(name, pair);
      if (!name.startsWith(netnsPrefix(project)) || name.length >= 128) wrong.push(`${name}: prefix or length`);
      const table = nftTableName(project);
      const owner = tables.get(table);
      if (owner !== undefined && owner !== project) wrong.push(`${table}: ${owner} and ${project}`);
      tables.set(table, project);
    }
    expect(wrong).toEqual([]);
    expect(netns.size).toBeGreaterThan(1000);
  });

  test('no project prefix is the start of another project\'s names', () => {
    const projects = [...new Set(Array.from({ length: 300 }, () => randomProject(5)))];
    const names = projects.map((q) => [q, netnsName(q, randomService(5))] as const);
    const wrong: string[] = [];
    for (const p of projects) {
      const prefix = netnsPrefix(p);
      for (const [q, name] of names) if (p !== q && name.startsWith(prefix)) wrong.push(`${name} (of ${q}) starts with ${prefix}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('names stay within the kernel limits and recognisable', () => {
  test('a long project or service ends in a hash, keeping its start', () => {
    const project = `shop-${'p'.repeat(200)}`;
    const service = `api-${'s'.repeat(300)}`;
    const name = netnsName(project, service);
    expect(name).toMatch(/^stk-shop-p+\+[0-9a-f]{12}\.api-s+\+[0-9a-f]{12}$/);
    expect(name.length).toBeLessThanOrEqual(4 + 2 * NETNS_PART_MAX + 1);
    expect(netnsName(project, `${service}t`)).not.toBe(name);
    expect(netnsName(`${project}q`, service)).not.toBe(name);
    const table = nftTableName('t'.repeat(400));
    expect(table).toMatch(/^stack_t+\.[0-9a-f]{12}$/);
    expect(table.length).toBeLessThanOrEqual(255);
  });

  test('a name at the readable limit stays as written; one byte more is hashed', () => {
    const at = 'a'.repeat(NETNS_PART_MAX);
    expect(netnsName(at, at)).toBe(`stk-${at}.${at}`);
    expect(netnsName(`${at}a`, 'web')).toMatch(/^stk-a+\+[0-9a-f]{12}\.web$/);
  });

  test('a name that is not valid is hashed, so it cannot forge a separator', () => {
    // Never produced by a loaded spec; the function stays injective on any input.
    expect(netnsName('a.b', 'c')).not.toBe(netnsName('a', 'b.c'));
    expect(netnsName('a.b', 'c')).toMatch(/^stk-a_b\+[0-9a-f]{12}\.c$/);
    expect(netnsName('p', '..')).toMatch(/^stk-p\.__\+[0-9a-f]{12}$/);
  });

  test('links fit IFNAMSIZ', () => {
    const long = 'x'.repeat(300);
    expect(bridgeName(long, long).length).toBeLessThanOrEqual(IFNAME_MAX);
    expect(vethHostName(long, long, long).length).toBeLessThanOrEqual(IFNAME_MAX);
  });

  test('cgroup paths refuse segments that are not one folder', () => {
    expect(cgroupPath('p', 'web')).toBe('stack/p/web');
    for (const bad of ['.', '..', '', 'a/b']) expect(() => cgroupPath('p', bad)).toThrow(/cannot name a cgroup/);
    expect(() => cgroupPath('..')).toThrow(/cannot name a cgroup/);
  });

  test('the patterns are compose\'s', () => {
    expect(PROJECT_NAME_PATTERN.test('my-app_1')).toBe(true);
    for (const bad of ['My', '-a', '_a', 'a.b', '']) expect(PROJECT_NAME_PATTERN.test(bad)).toBe(false);
    for (const ok of ['Web', 'a.b', '_x', '-', '...']) expect(isValidServiceName(ok)).toBe(true);
    for (const bad of ['.', '..', 'a b', 'a/b', '']) expect(isValidServiceName(bad)).toBe(false);
  });
});

// Image references parse as Docker parses them: cases from distribution/reference's
// normalize_test.go and reference_test.go, plus hostile input.
import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { parseImageReference, registryEndpoint } from '../../../src/image/reference.js';

const D = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

function refused(ref: string): UserError {
  try {
    parseImageReference(ref);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const u = e as UserError;
    expect(u.code).toBe('BAD_IMAGE_REFERENCE');
    expect(u.hint).toBeTruthy();
    return u;
  }
  throw new Error(`${JSON.stringify(ref)} was accepted`);
}

describe('the forms compose files use', () => {
  test.each([
    // input, registry, repository, tag, digest, familiar, canonical
    ['postgres', 'docker.io', 'library/postgres', 'latest', undefined, 'postgres:latest', 'docker.io/library/postgres:latest'],
    ['postgres:16', 'docker.io', 'library/postgres', '16', undefined, 'postgres:16', 'docker.io/library/postgres:16'],
    ['library/postgres', 'docker.io', 'library/postgres', 'latest', undefined, 'postgres:latest', 'docker.io/library/postgres:latest'],
    ['docker.io/postgres:16-alpine', 'docker.io', 'library/postgres', '16-alpine', undefined, 'postgres:16-alpine', 'docker.io/library/postgres:16-alpine'],
    ['docker.io/library/redis:7.2', 'docker.io', 'library/redis', '7.2', undefined, 'redis:7.2', 'docker.io/library/redis:7.2'],
    ['index.docker.io/bitnami/redis', 'docker.io', 'bitnami/redis', 'latest', undefined, 'bitnami/redis:latest', 'docker.io/bitnami/redis:latest'],
    ['ghcr.io/o/n:tag', 'ghcr.io', 'o/n', 'tag', undefined, 'ghcr.io/o/n:tag', 'ghcr.io/o/n:tag'],
    [`host:5000/n@${D}`, 'host:5000', 'n', undefined, D, `host:5000/n@${D}`, `host:5000/n@${D}`],
    ['localhost/n', 'localhost', 'n', 'latest', undefined, 'localhost/n:latest', 'localhost/n:latest'],
    ['localhost:5000/a/b/c:v1', 'localhost:5000', 'a/b/c', 'v1', undefined, 'localhost:5000/a/b/c:v1', 'localhost:5000/a/b/c:v1'],
    [`busybox:latest@${D}`, 'docker.io', 'library/busybox', 'latest', D, `busybox:latest@${D}`, `docker.io/library/busybox:latest@${D}`],
    [`redis@${D}`, 'docker.io', 'library/redis', undefined, D, `redis@${D}`, `docker.io/library/redis@${D}`],
    ['127.0.0.1:5000/debian', '127.0.0.1:5000', 'debian', 'latest', undefined, '127.0.0.1:5000/debian:latest', '127.0.0.1:5000/debian:latest'],
    ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000', 'docker/docker', 'latest', undefined, '[fc00::1]:5000/docker/docker:latest', '[fc00::1]:5000/docker/docker:latest'],
    ['192.168.0.1:80', 'docker.io', 'library/192.168.0.1', '80', undefined, '192.168.0.1:80', 'docker.io/library/192.168.0.1:80'],
    ['Foo/bar', 'Foo', 'bar', 'latest', undefined, 'Foo/bar:latest', 'Foo/bar:latest'],
    ['test_com/foo', 'docker.io', 'test_com/foo', 'latest', undefined, 'test_com/foo:latest', 'docker.io/test_com/foo:latest'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo', 'latest', undefined, 'xn--n3h.com:18080/foo:latest', 'xn--n3h.com:18080/foo:latest'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar', 'latest', undefined, 'library/foo/bar:latest', 'docker.io/library/foo/bar:latest'],
    ['other/library', 'docker.io', 'other/library', 'latest', undefined, 'other/library:latest', 'docker.io/other/library:latest'],
    ['postgres:UPPER_tag.1-x', 'docker.io', 'library/postgres', 'UPPER_tag.1-x', undefined, 'postgres:UPPER_tag.1-x', 'docker.io/library/postgres:UPPER_tag.1-x'],
    ['dbcc1', 'docker.io', 'library/dbcc1', 'latest', undefined, 'dbcc1:latest', 'docker.io/library/dbcc1:latest'],
  ])('%s', (input, registry, repository, tag, digest, familiar, canonical) => {
    const r = parseImageReference(input);
    expect(r.registry).toBe(registry);
    expect(r.repository).toBe(repository);
    expect(r.tag).toBe(tag);
    expect(r.digest).toBe(digest);
    expect(r.familiar).toBe(familiar);
    expect(r.canonical).toBe(canonical);
    expect(r.pullReference).toBe(digest ?? tag);
    // The canonical form parses back to itself, and so does the familiar one.
    expect(parseImageReference(canonical).canonical).toBe(canonical);
    expect(parseImageReference(familiar).canonical).toBe(canonical);
  });

  test('the familiar name drops docker.io and library/ only where Docker does', () => {
    expect(parseImageReference('docker.io/library/ubuntu').familiarName).toBe('ubuntu');
    expect(parseImageReference('fooo/bar').familiarName).toBe('fooo/bar');
    expect(parseImageReference('library/foo/bar').familiarName).toBe('library/foo/bar');
    expect(parseImageReference('127.0.0.1:8000/private/moonbase').familiarName).toBe('127.0.0.1:8000/private/moonbase');
  });

  test('Docker\'s valid names all parse', () => {
    for (const name of [
      'docker/docker', 'library/debian', 'debian', 'docker.io/docker/docker', 'docker.io/library/debian', 'docker.io/debian',
      'index.docker.io/docker/docker', 'index.docker.io/library/debian', 'index.docker.io/debian', '127.0.0.1:5000/docker/docker',
      '127.0.0.1:5000/library/debian', '127.0.0.1:5000/debian', '192.168.0.1', '192.168.0.1:80', '192.168.0.1:8/debian',
      '192.168.0.2:25000/debian', 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', '[fc00::1]:5000/docker',
      '[fc00:1:2:3:4:5:6:7]:5000/library/debian', 'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
      'Docker/docker', 'DOCKER/docker', 'docker-rules/docker', 'docker---rules/docker', 'doc/docker', 'd/docker', 'jess/t',
      'dock__er/docker', 'test-com:8080/foo', 'a'.repeat(237), `x/${'a'.repeat(235)}`,
    ]) {
      expect(() => parseImageReference(name), name).not.toThrow();
    }
  });
});

describe('what Docker refuses, with the reason', () => {
  test.each([
    'https://github.com/docker/docker', '-docker', '-docker/docker', '-docker.io/docker/docker', 'docker///docker',
    'docker.io/docker///docker', '[fc00::1]', '[fc00::1]:5000', 'fc00::1:5000/debian', '[fe80::1%eth0]:5000/debian',
    '[2001:db8:3:4::192.0.2.33]:5000/debian', 'docker-/docker', '-docker-/docker', '____/____', '_docker/_docker',
    'dock..er/docker', 'dock_.er/docker', 'dock-.er/docker', 'docker/', 'a/b:', 'a@', ':tag', '@sha256:abc', 'a:-tag',
    'a:.tag', `a:${'t'.repeat(129)}`, 'a b', ' postgres', 'postgres ', 'postgres\n', 'pöstgres', 'postgres:16\u0000',
    'a/b/', '/a', 'a//b',
  ])('%j', (ref) => {
    refused(ref);
  });

  test('uppercase in a repository path names the part and suggests the lowercase one', () => {
    const e = refused('docker/Docker');
    expect(e.message).toContain('"docker/Docker" must be lowercase');
    expect(e.hint).toContain('"docker/docker"');
    expect(refused('docker.io/docker/Docker').message).toContain('lowercase');
    expect(refused('ghcr.io/Owner/app:1').message).toContain('"Owner/app" must be lowercase');
    expect(refused('ghcr.io/Owner/app:1').hint).toBe('write it as "ghcr.io/owner/app:1"');
    expect(refused('Postgres:16').hint).toBe('write it as "postgres:16"'); // library/ is not written back
  });

  test('uppercase in a reference that lowercased is still invalid gets the general hint, never itself back', () => {
    const e = refused('Bad:Name::x');
    expect(e.message).toContain('"library/Bad" must be lowercase');
    expect(e.hint).not.toContain('Bad:Name::x');
    expect(e.hint).toMatch(/an image reference looks like/);
  });

  test('a bare 64-digit hex string is an image ID, not a name', () => {
    expect(refused('1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a').message).toContain('image ID');
  });

  test('names longer than 255 with their registry are refused (docker.io/library/ counts)', () => {
    expect(refused('a'.repeat(238)).message).toMatch(/256 characters long; the limit is 255/);
    expect(refused(`example.com/${'a'.repeat(244)}`).message).toMatch(/256 characters/);
    expect(() => parseImageReference(`example.com/${'a'.repeat(243)}`)).not.toThrow();
  });

  test('a tag longer than 128 or starting with . or - is refused as a tag', () => {
    expect(refused(`postgres:${'a'.repeat(129)}`).message).toContain('tag');
    expect(refused('postgres:-rc').message).toContain('tag "-rc"');
    expect(() => parseImageReference(`postgres:${'a'.repeat(128)}`)).not.toThrow();
  });

  test('digests: known algorithm, right length, lowercase hex', () => {
    expect(refused('a@sha256:abc').message).toContain('not a digest');
    expect(refused(`a@sha256:${'a'.repeat(63)}`).message).toContain('64 hex digits, this one has 63');
    expect(refused(`a@sha256:${'A'.repeat(64)}`).message).toContain('lowercase');
    expect(refused(`a@md5:${'a'.repeat(32)}`).message).toContain('"md5"');
    expect(parseImageReference(`a@sha512:${'b'.repeat(128)}`).digest).toBe(`sha512:${'b'.repeat(128)}`);
  });

  test('hostile input: huge, unicode, control characters; a bounded message', () => {
    for (const ref of ['a'.repeat(10_000_000), `${'a-'.repeat(5000)}!`, `${'a.'.repeat(300)}/b`, '\u202epostgres', '🐘', 'postgres:16\r\n', '']) {
      const e = refused(ref);
      expect(e.message.length).toBeLessThan(400);
    }
    expect(refused('').message).toContain('empty');
    expect(refused('pöstgres').message).toContain('non-ASCII');
  });

  test('a pathological almost-match fails fast (no catastrophic backtracking)', () => {
    // Each is near the grammar's limits; a backtracking blow-up would hang this test.
    for (const ref of [`${'a_'.repeat(120)}!`, `${'a-'.repeat(100)}-/${'b.'.repeat(60)}`, `${'a.b-'.repeat(60)}:x:y`]) refused(ref);
  });
});

test('the API endpoint of Docker Hub is registry-1.docker.io; others are themselves', () => {
  expect(registryEndpoint(parseImageReference('postgres').registry)).toBe('https://registry-1.docker.io');
  expect(registryEndpoint(parseImageReference('index.docker.io/library/postgres').registry)).toBe('https://registry-1.docker.io');
  expect(registryEndpoint(parseImageReference('ghcr.io/o/n').registry)).toBe('https://ghcr.io');
  expect(registryEndpoint(parseImageReference('localhost:5000/n').registry)).toBe('https://localhost:5000');
});

// WWW-Authenticate parsing: quoted strings holding commas and escapes, several challenges, junk.
import { describe, expect, it } from 'vitest';
import { parseAuthChallenges } from '../../../src/image/auth-challenge.js';

describe('parseAuthChallenges', () => {
  it('reads a Bearer challenge whose scope holds commas and a colon', () => {
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull,push"';
    expect(parseAuthChallenges(h)).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/postgres:pull,push' } },
    ]);
  });

  it('reads Basic, unquoted values, spaces, escapes and two challenges in one header', () => {
    expect(parseAuthChallenges('Basic realm="say \\"hi\\"", Bearer Realm=https://t/x , error=insufficient_scope')).toEqual([
      { scheme: 'basic', params: { realm: 'say "hi"' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', error: 'insufficient_scope' } },
    ]);
  });

  it('never throws on junk', () => {
    for (const h of ['', ',,,', '=', 'Bearer realm="unterminated', '"x"', 'Basic =a']) expect(() => parseAuthChallenges(h)).not.toThrow();
    expect(parseAuthChallenges('Bearer realm="unterminated')[0]?.params.realm).toBe('unterminated');
  });
});

// restart: decisions (Docker's rules) and the delay between restarts.
import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, backoffMs, shouldRestart } from '../../../src/supervisor/restart-policy.js';

describe('restart policies', () => {
  it.each([
    [{ kind: 'no' }, 1, 0, false],
    [{ kind: 'no' }, 0, 0, false],
    [{ kind: 'always' }, 0, 99, true],
    [{ kind: 'unless-stopped' }, 1, 99, true],
    [{ kind: 'on-failure' }, 0, 0, false],
    [{ kind: 'on-failure' }, 1, 50, true],
    [{ kind: 'on-failure' }, null, 0, true],
    [{ kind: 'on-failure', maxRetries: 2 }, 1, 1, true],
    [{ kind: 'on-failure', maxRetries: 2 }, 1, 2, false],
  ] as const)('%j after exit code %s with %i restarts made: %s', (policy, exitCode, restarts, expected) => {
    expect(shouldRestart(policy, { exitCode }, restarts)).toBe(expected);
  });

  it('doubles the delay from 100 ms up to 30 s', () => {
    expect([0, 1, 2, 3].map(backoffMs)).toEqual([100, 200, 400, 800]);
    expect(backoffMs(15)).toBe(BACKOFF_MAX_MS);
    expect(backoffMs(1000)).toBe(BACKOFF_MAX_MS);
  });
});

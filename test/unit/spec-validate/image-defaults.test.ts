// Facts the spec keeps so the image config can fill in what it leaves out: whether stop_signal was
// written, whether the healthcheck was disabled, and `platform:` normalized as Docker reads it.
import { describe, expect, test } from 'vitest';
import { hashService } from '../../../src/planner/hash.js';
import { normalize } from '../../../src/spec/normalize.js';
import type { Service } from '../../../src/spec/project.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

/** Validation and normalization of a spec whose only service `web` has `body`. */
function load(body: string) {
  const raw = rawSpec(`services:\n  web:\n${body.replace(/^/gm, '    ')}\n`, { env: {}, workingDir: '/proj' });
  const validation = validate(raw);
  const { project, diagnostics } = normalize(raw, { profiles: [] });
  return { service: project.services.web!, diagnostics: [...validation, ...diagnostics] };
}

/** The service `web`, checking the spec loads without errors or warnings. */
function web(body: string): Service {
  const { service, diagnostics } = load(body);
  expect(diagnostics).toEqual([]);
  return service;
}

describe('stop_signal', () => {
  test('not written: SIGTERM, not set (the image may say otherwise)', () => {
    const s = web('image: postgres:16');
    expect(s.stopSignal).toBe('SIGTERM');
    expect(s.stopSignalSet).toBe(false);
  });

  test('written as SIGTERM: set, so it wins over the image', () => {
    const s = web('image: postgres:16\nstop_signal: SIGTERM');
    expect(s.stopSignal).toBe('SIGTERM');
    expect(s.stopSignalSet).toBe(true);
  });

  test('written as a short name: normalized and set', () => {
    const s = web('image: postgres:16\nstop_signal: QUIT');
    expect(s.stopSignal).toBe('SIGQUIT');
    expect(s.stopSignalSet).toBe(true);
  });
});

describe('healthcheck disabled', () => {
  test('absent: null and not disabled (the image may have one)', () => {
    const s = web('image: redis');
    expect(s.healthcheck).toBeNull();
    expect(s.healthcheckDisabled).toBe(false);
  });

  test('disable: true: null and disabled', () => {
    const s = web('image: redis\nhealthcheck:\n  disable: true');
    expect(s.healthcheck).toBeNull();
    expect(s.healthcheckDisabled).toBe(true);
  });

  test('test: ["NONE"]: null and disabled', () => {
    const s = web('image: redis\nhealthcheck:\n  test: ["NONE"]');
    expect(s.healthcheck).toBeNull();
    expect(s.healthcheckDisabled).toBe(true);
  });

  test('a test of its own: not disabled', () => {
    const s = web('image: redis\nhealthcheck:\n  test: ["CMD", "redis-cli", "ping"]');
    expect(s.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(s.healthcheckDisabled).toBe(false);
  });

  test('disable: false beside a test: not disabled', () => {
    const s = web('image: redis\nhealthcheck:\n  disable: false\n  test: "true"');
    expect(s.healthcheck?.test).toEqual(['CMD-SHELL', 'true']);
    expect(s.healthcheckDisabled).toBe(false);
  });
});

describe('platform', () => {
  test('absent: no platform (the host one applies)', () => {
    expect(web('image: redis').platform).toBeUndefined();
  });

  test('os/arch is normalized, with no warning (no longer a cosmetic key)', () => {
    expect(web('image: redis\nplatform: linux/amd64').platform).toEqual({ os: 'linux', architecture: 'amd64', variant: '' });
    expect(web('image: redis\nplatform: linux/aarch64').platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(web('image: redis\nplatform: Linux/ARM/v6').platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(web('image: redis\nplatform: x86_64').platform).toEqual({ os: 'linux', architecture: 'amd64', variant: '' });
  });

  test('a platform this host cannot run is still accepted and carried', () => {
    expect(web('image: redis\nplatform: linux/s390x').platform).toEqual({ os: 'linux', architecture: 's390x', variant: '' });
    // awesome-compose's wasmedge examples say `platform: wasi/wasm`.
    expect(web('image: redis\nplatform: wasi/wasm').platform).toEqual({ os: 'wasi', architecture: 'wasm', variant: '' });
  });

  test('a bad value is BAD_PLATFORM at file:line:col of the key', () => {
    const { service, diagnostics } = load('image: redis\nplatform: linux/amd64/v2/extra');
    expect(service.platform).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      severity: 'error',
      code: 'BAD_PLATFORM',
      path: ['services', 'web', 'platform'],
      location: { file: '/proj/stack.yaml', line: 4, col: 5 },
      expected: expect.stringContaining('os/architecture'),
    });
    expect(diagnostics[0]!.message).toContain('linux/amd64/v2/extra');
  });

  test('an unknown operating system is BAD_PLATFORM naming it', () => {
    const { diagnostics } = load('image: redis\nplatform: beos/amd64');
    expect(diagnostics.map((d) => d.code)).toEqual(['BAD_PLATFORM']);
    expect(diagnostics[0]!.message).toContain('beos');
  });

  test('a platform that is not a string is a type error', () => {
    const { diagnostics } = load('image: redis\nplatform: [linux/amd64]');
    expect(diagnostics.filter((d) => d.severity === 'error')).toHaveLength(1);
    expect(diagnostics[0]!.path).toEqual(['services', 'web', 'platform']);
  });
});

describe('config hash', () => {
  /** The service's hash as it was before these fields existed. */
  const withoutNewFields = (s: Service): Service => {
    const { stopSignalSet: _a, healthcheckDisabled: _b, platform: _c, ...rest } = s;
    return rest as Service;
  };

  test('a host-program service hashes as before, whatever the new fields say', () => {
    for (const body of ['command: ["sleep", "1"]', 'command: ["sleep", "1"]\nstop_signal: SIGTERM\nhealthcheck:\n  disable: true\nplatform: linux/arm64']) {
      const s = web(body);
      expect(hashService(s)).toEqual(hashService(withoutNewFields(s)));
    }
  });

  test('for an image service they count: disabling the healthcheck or writing stop_signal recreates it', () => {
    const base = hashService(web('image: redis'));
    const disabled = hashService(web('image: redis\nhealthcheck:\n  disable: true'));
    const signal = hashService(web('image: redis\nstop_signal: SIGTERM'));
    const platform = hashService(web('image: redis\nplatform: linux/arm64'));
    expect(new Set([base.hash, disabled.hash, signal.hash, platform.hash]).size).toBe(4);
    expect(Object.keys(disabled.fields)).toContain('healthcheck_disabled');
  });
});

describe('pull_policy', () => {
  test('always, missing, never; if_not_present reads as missing; absent means the default', () => {
    expect(web('image: redis\npull_policy: always').pullPolicy).toBe('always');
    expect(web('image: redis\npull_policy: never').pullPolicy).toBe('never');
    expect(web('image: redis\npull_policy: if_not_present').pullPolicy).toBe('missing');
    expect(web('image: redis').pullPolicy).toBeUndefined();
  });

  test('daily, weekly and every_<duration> pull when the last pull is older', () => {
    expect(web('image: redis\npull_policy: daily').pullPolicy).toEqual({ refreshAfterMs: 86_400_000 });
    expect(web('image: redis\npull_policy: weekly').pullPolicy).toEqual({ refreshAfterMs: 7 * 86_400_000 });
    expect(web('image: redis\npull_policy: every_12h').pullPolicy).toEqual({ refreshAfterMs: 12 * 3_600_000 });
  });

  test('build builds on every up', () => {
    expect(web('image: redis\npull_policy: build').pullPolicy).toBe('build');
  });

  test('an unknown policy and a bad duration are errors at the key', () => {
    for (const [value, message] of [['sometimes', /unknown pull policy `sometimes`/], ['every_soon', /cannot read the duration/]] as const) {
      const { diagnostics } = load(`image: redis\npull_policy: ${value}`);
      expect(diagnostics).toEqual([expect.objectContaining({ code: 'BAD_PULL_POLICY', path: ['services', 'web', 'pull_policy'], message: expect.stringMatching(message) })]);
    }
  });
});

describe('volume nocopy', () => {
  test('the short `:nocopy` mode and the long volume.nocopy set noCopy; without them it is absent', () => {
    const raw = rawSpec(
      'services:\n  web:\n    image: redis\n    volumes:\n      - data:/data:nocopy\n      - type: volume\n        source: logs\n        target: /logs\n        volume:\n          nocopy: true\n      - cache:/cache\nvolumes: { data: {}, logs: {}, cache: {} }\n',
      { env: {}, workingDir: '/proj' },
    );
    expect(validate(raw)).toEqual([]);
    const { project, diagnostics } = normalize(raw, { profiles: [] });
    expect(diagnostics).toEqual([]);
    const s = project.services.web!;
    expect(s.volumes.map((m) => (m.type === 'volume' ? [m.target, m.noCopy] : []))).toEqual([['/data', true], ['/logs', true], ['/cache', undefined]]);
  });
});

describe('healthcheck without test', () => {
  test('on an image service: its timings are kept to lay over the image\'s healthcheck, with no warning', () => {
    const s = web('image: redis\nhealthcheck:\n  interval: 2s\n  retries: 7');
    expect(s.healthcheck).toBeNull();
    expect(s.healthcheckTimings).toEqual({ intervalMs: 2000, retries: 7 });
  });
});

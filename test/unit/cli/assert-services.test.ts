// The service names a command was given, checked against the project: a typo gets a "did you
// mean", among the enabled services and those behind an inactive profile too (naming one enables it).
import { describe, expect, it } from 'vitest';
import { assertServices } from '../../../src/cli/commands/assert-services.js';
import type { Project } from '../../../src/spec/project.js';

const project = (services: string[], disabled?: string[]): Project =>
  ({
    name: 'p',
    workingDir: '/w',
    files: [],
    services: Object.fromEntries(services.map((s) => [s, {}])),
    networks: {},
    volumes: {},
    ...(disabled && { disabledServices: disabled }),
  }) as unknown as Project;

function refusal(p: Project, names: string[]): { message: string; hint?: string } {
  try {
    assertServices(p, names, 'start');
  } catch (e) {
    return e as { message: string; hint?: string };
  }
  throw new Error('not refused');
}

describe('assertServices', () => {
  it('takes the names the project has', () => {
    expect(() => assertServices(project(['web', 'db']), ['db', 'web'], 'start')).not.toThrow();
  });

  it('suggests the nearest enabled service, or one behind an inactive profile', () => {
    expect(refusal(project(['web', 'db']), ['wbe'])).toMatchObject({ message: 'stack start: project p has no service "wbe"', hint: 'did you mean "web"?' });
    expect(refusal(project(['web'], ['debug']), ['dbug']).hint).toBe('did you mean "debug"?');
  });

  it('lists the enabled services when none is near', () => {
    expect(refusal(project(['web', 'db'], ['debug']), ['zzzzzz']).hint).toBe('its services: web, db');
  });
});

// Guards for tests that need root or a program installed. Outside CI such a test is skipped
// with its reason; with CI=true a missing requirement fails the run instead (no silent skip).
import { describe, it } from 'vitest';
import { execFileSync } from 'node:child_process';

const inCI = process.env.CI === 'true' || process.env.CI === '1';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Whether `name` is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The reason a requirement is unmet, or undefined when everything is there. */
export function unmet(needs: { root?: boolean; commands?: string[] }): string | undefined {
  if (needs.root && !isRoot) return 'needs root';
  const missing = (needs.commands ?? []).filter((c) => !hasCommand(c));
  if (missing.length) return `needs ${missing.join(', ')} on PATH (scripts/test.sh installs it)`;
  return undefined;
}

/** `describe` that runs only when `needs` are met: skipped with the reason, or failing under CI. */
export function describeWith(
  needs: { root?: boolean; commands?: string[] },
  name: string,
  body: () => void,
): void {
  const reason = unmet(needs);
  if (!reason) {
    describe(name, body);
    return;
  }
  if (inCI) {
    describe(name, () => {
      it(`cannot run in CI: ${reason}`, () => {
        throw new Error(`${name}: ${reason}; CI=true forbids skipping it`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${reason})`, body);
}

/** Shorthand for tests that need root. */
export function describeRoot(name: string, body: () => void): void {
  describeWith({ root: true }, name, body);
}

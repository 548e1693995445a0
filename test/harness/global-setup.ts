// Snapshots the kernel objects with the project's prefixes before any test runs and fails
// the whole run when the tests added any (docs/architecture.md: the suite asserts nothing is left).
// It also guards the host's net.ipv4.ip_forward: no test may turn routing on for the real
// host (tests that need it do it inside a namespace that plays the host); a change is
// undone and fails the run.
import { readFileSync, writeFileSync } from 'node:fs';
import { inventory } from './inventory.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

function readForward(): string | undefined {
  try {
    return readFileSync(IP_FORWARD, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export default function setup(): () => void {
  const before = new Set(inventory());
  const forwardBefore = readForward();
  return () => {
    const problems: string[] = [];
    const added = inventory().filter((o) => !before.has(o));
    if (added.length > 0) {
      problems.push(
        `the tests left ${added.length} kernel object(s) with the project's names behind:\n  ` +
          added.join('\n  ') +
          '\n(`stack gc` removes them; the test that made them has a cleanup hole)',
      );
    }
    const forwardAfter = readForward();
    if (forwardBefore !== undefined && forwardAfter !== forwardBefore) {
      writeFileSync(IP_FORWARD, forwardBefore);
      problems.push(
        `the tests changed the host's net.ipv4.ip_forward from ${forwardBefore} to ${forwardAfter} (set back); ` +
          'a test that runs `stack up` on the real host must set STACK_IP_FORWARD=leave',
      );
    }
    if (problems.length) throw new Error(problems.join('\n'));
  };
}

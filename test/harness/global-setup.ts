// Snapshots the kernel objects with the project's prefixes before any test runs and fails
// the whole run when the tests added any (DESIGN.md: the suite asserts nothing is left).
import { inventory } from './inventory.js';

export default function setup(): () => void {
  const before = new Set(inventory());
  return () => {
    const added = inventory().filter((o) => !before.has(o));
    if (added.length > 0) {
      throw new Error(
        `the tests left ${added.length} kernel object(s) with the project's names behind:\n  ` +
          added.join('\n  ') +
          '\n(`stack gc` removes them; the test that made them has a cleanup hole)',
      );
    }
  };
}

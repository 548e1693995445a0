import { expect, test } from 'vitest';
import { acceptedKeys } from '../../../src/spec/keys.js';
import { keyReference } from '../../../src/spec/reference.js';

test('the key reference lists every accepted service key with its help, and names the refused ones', () => {
  const md = keyReference();
  for (const key of acceptedKeys('service')) expect(md).toMatch(new RegExp(`\\| \`${key}\` \\| \\S`));
  expect(md).toContain('| `ports` | Published ports');
  expect(md).toMatch(/Refused by name \(not supported yet\): .*`blkio_config`/);
  expect(md).toMatch(/Accepted with a warning \(no effect\): .*`logging`/);
});

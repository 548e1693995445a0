import { expect, test } from 'vitest';
import {
  networkRecordPath,
  projectRunDir,
  serviceRecordPath,
  stateRoots,
  volumeDataDir,
  volumeRecordPath,
} from '../../../src/state/paths.js';

test('without STACK_ROOT, state lives in the system places', () => {
  const roots = stateRoots({});
  expect(roots).toEqual({ run: '/run/stack', lib: '/var/lib/stack' });
  expect(projectRunDir(roots, 'shop')).toBe('/run/stack/shop');
  expect(volumeDataDir(roots, 'shop_data')).toBe('/var/lib/stack/volumes/shop_data');
});

test('STACK_ROOT moves everything under it', () => {
  const roots = stateRoots({ STACK_ROOT: '/tmp/st' });
  expect(serviceRecordPath(roots, 'shop', 'web')).toBe('/tmp/st/run/shop/services/web.json');
  expect(networkRecordPath(roots, 'shop', 'default')).toBe('/tmp/st/run/shop/networks/default.json');
  expect(volumeRecordPath(roots, 'shop', 'data')).toBe('/tmp/st/lib/projects/shop/volumes/data.json');
});

test.each(['..', '.', 'a/b', ''])('%j cannot name a state file', (name) => {
  expect(() => serviceRecordPath(stateRoots({}), 'shop', name)).toThrowError(expect.objectContaining({ code: 'STATE_BAD_NAME' }));
});

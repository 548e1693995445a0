import { describe, expect, test } from 'vitest';
import { parseBoolean, parseBytes, parseCpus, parseDuration, parseInteger } from '../../../src/spec/units.js';

describe('parseDuration (milliseconds)', () => {
  test.each([
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['500ms', 500],
    ['10', 10_000],
    [10, 10_000],
    [0, 0],
    ['1.5s', 1500],
    ['2h45m', 9_900_000],
    ['100us', 0.1],
    ['100\u00b5s', 0.1], // the micro sign, as Go's time.ParseDuration takes it
    ['100\u03bcs', 0.1], // the Greek small mu
    [' 30s ', 30_000],
  ])('%j → %d', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });

  test.each([['1x'], ['s'], ['10 s'], [''], ['-1s'], ['1d'], [-1], [true], [null]])('%j is refused', (input) => {
    expect(parseDuration(input).ok).toBe(false);
  });
});

describe('parseBytes (like docker units.RAMInBytes)', () => {
  test.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1024', 1024],
    [1024, 1024],
    ['1.5gb', 1.5 * 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['64k', 65536],
    ['64 kb', 65536],
    ['10b', 10],
    ['1t', 1024 ** 4],
  ])('%j → %d', (input, bytes) => {
    expect(parseBytes(input)).toEqual({ ok: true, value: bytes });
  });

  test.each([['1x'], ['m'], ['-1m'], [1.5], ['1.2.3g'], [{}]])('%j is refused', (input) => {
    expect(parseBytes(input).ok).toBe(false);
  });
});

describe('parseCpus, parseInteger, parseBoolean', () => {
  test.each([
    [0.5, 0.5],
    ['1.5', 1.5],
    [2, 2],
    ['.25', 0.25],
  ])('cpus %j → %d', (input, cpus) => {
    expect(parseCpus(input)).toEqual({ ok: true, value: cpus });
  });
  test.each([['half'], [-1], ['1,5']])('cpus %j is refused', (input) => {
    expect(parseCpus(input).ok).toBe(false);
  });
  test('integers come as numbers or numeric strings', () => {
    expect(parseInteger('42')).toEqual({ ok: true, value: 42 });
    expect(parseInteger(-1)).toEqual({ ok: true, value: -1 });
    expect(parseInteger('4.2').ok).toBe(false);
    expect(parseInteger(4.2).ok).toBe(false);
  });
  test.each([
    [true, true],
    ['false', false],
    ['yes', true],
    ['OFF', false],
  ])('boolean %j → %j', (input, value) => {
    expect(parseBoolean(input)).toEqual({ ok: true, value });
  });
  test('maybe is not a boolean', () => {
    expect(parseBoolean('maybe').ok).toBe(false);
  });
});

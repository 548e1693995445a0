import { readFileSync, statSync, existsSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { KernelError } from '../../../src/errors.js';
import {
  inNetns, linkList, netnsAdd, netnsDelete, netnsExists, netnsList, netnsPath,
} from '../../../src/network/index.js';
import { Scratch, uniq } from './fixture.js';

const threadNetns = () => statSync('/proc/thread-self/ns/net').ino;

describeRoot('named network namespaces through system calls', () => {
  const s = new Scratch();
  afterEach(() => s.cleanup());

  it('creates a namespace bound at /run/netns/<name> and leaves this thread where it was', () => {
    const before = threadNetns();
    const name = s.netns('ns');
    expect(threadNetns()).toBe(before);
    expect(netnsList()).toContain(name);
    expect(netnsExists(name)).toBe(true);
    const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
    const mounted = mountPoints.includes(netnsPath(name));
    expect(mounted).toBe(true);
    // A namespace of its own: another inode than ours, and holding only a loopback that is down.
    expect(statSync(netnsPath(name)).ino).not.toBe(before);
    const links = inNetns(name, () => {
      expect(threadNetns()).toBe(statSync(netnsPath(name)).ino);
      return s.handle();
    });
    expect(threadNetns()).toBe(before);
    expect(linkList(links).map((l) => [l.name, l.up])).toEqual([['lo', false]]);
  });

  it('refuses a name that is taken, naming the namespace', () => {
    const name = s.netns('dup');
    let err: unknown;
    try {
      netnsAdd(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe('EEXIST');
    expect((err as KernelError).message).toBe(`create netns ${name} (/run/netns/${name}): EEXIST`);
    expect(netnsExists(name)).toBe(true);
  });

  it('deletes a namespace, and deleting what is gone is success', () => {
    const name = s.netns('del');
    netnsDelete(name);
    expect(existsSync(netnsPath(name))).toBe(false);
    expect(netnsList()).not.toContain(name);
    expect(() => netnsDelete(name)).not.toThrow();
    expect(() => netnsDelete(`stk-tnever${uniq()}`)).not.toThrow();
  });

  it('switches back even when the work inside the namespace throws', () => {
    const before = threadNetns();
    const name = s.netns('throw');
    expect(() =>
      inNetns(name, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(threadNetns()).toBe(before);
  });

  it('rejects names that would escape /run/netns', () => {
    expect(() => netnsAdd('../etc')).toThrow(/bad netns name/);
    expect(() => netnsAdd('')).toThrow(/bad netns name/);
  });
});

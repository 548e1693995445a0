import { describe, expect, it } from 'vitest';
import { allocateProject, keptAllocation } from '../../../src/executor/ipam.js';
import { memoryStore } from '../../../src/network/ipam-store.js';
import type { Project } from '../../../src/spec/project.js';

/** The fields IPAM reads of a project: its networks and each service's attachments. */
function project(networks: Record<string, { external?: boolean; ipam?: { subnet: string }[] }>, services: Record<string, Record<string, { ipv4Address?: string }>>): Project {
  return {
    name: 'p',
    networks: Object.fromEntries(Object.entries(networks).map(([k, n]) => [k, { ipam: [], ...n }])),
    services: Object.fromEntries(Object.entries(services).map(([s, nets]) => [s, { name: s, networks: nets }])),
  } as unknown as Project;
}

const BACK = { ipam: [{ subnet: '10.0.0.0/24' }] };

describe('keptAllocation', () => {
  const base = project({ default: {}, back: BACK }, { web: { default: {} }, db: { default: {}, back: { ipv4Address: '10.0.0.9' } } });

  it('is the stored record when it is what allocateProject keeps', async () => {
    const store = memoryStore();
    const allocated = await allocateProject(base, store, () => []);
    expect(await keptAllocation(base, store)).toEqual(allocated);
    // And allocating again over it changes nothing.
    expect(await allocateProject(base, store, () => [])).toEqual(allocated);
  });

  it('is undefined when nothing is stored or the project has no networks', async () => {
    expect(await keptAllocation(base, memoryStore())).toBeUndefined();
    expect(await keptAllocation(project({}, { web: {} }), memoryStore({ version: 1, networks: {} }))).toBeUndefined();
  });

  it('is undefined when a service, a network or a pinned address differs', async () => {
    const store = memoryStore();
    await allocateProject(base, store, () => []);
    const withService = project({ default: {}, back: BACK }, { web: { default: {} }, api: { default: {} }, db: { default: {}, back: { ipv4Address: '10.0.0.9' } } });
    expect(await keptAllocation(withService, store)).toBeUndefined();
    const withoutService = project({ default: {}, back: BACK }, { db: { default: {}, back: { ipv4Address: '10.0.0.9' } } });
    expect(await keptAllocation(withoutService, store)).toBeUndefined();
    const withNetwork = project({ default: {}, back: {}, extra: {} }, { web: { default: {} }, db: { default: {}, back: { ipv4Address: '10.0.0.9' } } });
    expect(await keptAllocation(withNetwork, store)).toBeUndefined();
    const repinned = project({ default: {}, back: BACK }, { web: { default: {} }, db: { default: {}, back: { ipv4Address: '10.0.0.10' } } });
    expect(await keptAllocation(repinned, store)).toBeUndefined();
  });

  it('leaves external networks out, as allocateProject does', async () => {
    const withExternal = project({ default: {}, outside: { external: true } }, { web: { default: {}, outside: {} } });
    const store = memoryStore();
    const allocated = await allocateProject(withExternal, store, () => []);
    expect(Object.keys(allocated.networks)).toEqual(['default']);
    expect(await keptAllocation(withExternal, store)).toEqual(allocated);
  });
});

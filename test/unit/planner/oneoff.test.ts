// One-offs of `stack run` in the planner: `up` neither removes nor counts them, `down` removes
// them, a plan that targets one makes only it (and what it needs), and a service of the spec
// that takes a live one-off's name is refused.
import { describe, expect, test } from 'vitest';
import { ONE_OFF_LABEL } from '../../../src/planner/oneoff.js';
import { plan } from '../../../src/planner/reconcile.js';
import { planRemove } from '../../../src/planner/down.js';
import { renderPlan } from '../../../src/planner/render.js';
import { emptyLiveState, type LiveState } from '../../../src/state/live.js';
import type { Project, Service } from '../../../src/spec/project.js';
import { needs, network, on, project, service, simulate } from './fixtures.js';

const app = project([service('api'), service('web', { dependsOn: needs('api') })]);
const oneOff: Service = { ...app.services.web!, name: 'web-run-0a1b2c', labels: { [ONE_OFF_LABEL]: 'web' } };
const withOneOff: Project = { ...app, services: { ...app.services, [oneOff.name]: oneOff } };

/** The host after `up` of app and then `run web` (the one-off's record marked as such). */
function afterRun(): LiveState {
  const upped = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
  const ran = simulate(withOneOff, upped, plan(withOneOff, upped, { services: [oneOff.name] }));
  return { ...ran, services: { ...ran.services, [oneOff.name]: { ...ran.services[oneOff.name]!, oneOff: 'web' } } };
}

describe('one-offs', () => {
  test('run: only the one-off is made when its dependencies run', () => {
    const upped = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
    expect(renderPlan(plan(withOneOff, upped, { services: [oneOff.name] }))).toMatchInlineSnapshot(`
      "create-netns   netns:web-run-0a1b2c         new service
      attach-veth    veth:web-run-0a1b2c/default  new service  (after create-netns:web-run-0a1b2c)
      start-service  service:web-run-0a1b2c       new service  (after attach-veth:web-run-0a1b2c/default)"
    `);
  });

  test('run on an empty host starts its dependencies first; --no-deps does not', () => {
    const empty = emptyLiveState('p');
    const full = renderPlan(plan(withOneOff, empty, { services: [oneOff.name] }));
    expect(full).toContain('start-service   service:api');
    expect(full).toMatch(/start-service +service:web-run-0a1b2c .*start-service:api/);
    expect(full).not.toMatch(/service:web /);
    expect(renderPlan(plan(withOneOff, empty, { services: [oneOff.name], noDeps: true }))).not.toContain('service:api');
  });

  test('up after a run neither removes nor restarts anything', () => {
    expect(renderPlan(plan(app, afterRun()))).toBe('nothing to do');
  });

  test('down removes the one-off with the rest', () => {
    const out = renderPlan(planRemove(afterRun(), { volumes: false }));
    expect(out).toContain('remove-service  service:web-run-0a1b2c');
    expect(out).toContain('remove-netns    netns:web-run-0a1b2c');
    expect(out).toContain('remove-service  service:web ');
  });

  test('up --remove-orphans removes a one-off that has ended, and leaves one that runs', () => {
    const ran = afterRun();
    const running = ran.services[oneOff.name]!;
    expect(running.process?.alive).toBe(true);
    expect(renderPlan(plan(app, ran, { removeOrphans: true }))).toBe('nothing to do');
    const ended: LiveState = { ...ran, services: { ...ran.services, [oneOff.name]: { ...running, process: { ...running.process!, alive: false } } } };
    expect(renderPlan(plan(app, ended))).toBe('nothing to do'); // without the option it stays, as in compose
    const out = renderPlan(plan(app, ended, { removeOrphans: true }));
    expect(out).toMatch(/^remove-service +service:web-run-0a1b2c +a one-off that ended \(--remove-orphans\)/m);
    expect(out).not.toMatch(/service:(api|web) /);
  });

  test('up --remove-orphans naming services removes what the spec no longer has; naming services without it does not', () => {
    const upped = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
    const less = project([service('api')]);
    expect(renderPlan(plan(less, upped, { services: ['api'] }))).toBe('nothing to do');
    const out = renderPlan(plan(less, upped, { services: ['api'], removeOrphans: true }));
    expect(out).toMatch(/^remove-service +service:web +removed from the spec/m);
    expect(out).not.toMatch(/service:api /);
  });

  test("a network only a one-off that stays is plugged into is not removed; with the one-off it goes", () => {
    // `stack run -d tool` of a tool on the default network, which no service of the spec uses.
    const front = project([service('api', { networks: on('front') })]);
    const tool: Service = { ...service('tool-run-1'), labels: { [ONE_OFF_LABEL]: 'tool' } };
    const upped = simulate(front, emptyLiveState('p'), plan(front, emptyLiveState('p')));
    const withTool: Project = { ...front, networks: { ...front.networks, default: network('default') }, services: { ...front.services, [tool.name]: tool } };
    const ran = simulate(withTool, upped, plan(withTool, upped, { services: [tool.name] }));
    const marked: LiveState = { ...ran, services: { ...ran.services, [tool.name]: { ...ran.services[tool.name]!, oneOff: 'tool' } } };
    expect(renderPlan(plan(front, marked))).toBe('nothing to do');
    expect(renderPlan(planRemove(marked, { volumes: false }))).toMatch(/^remove-network +network:default/m);
  });

  test('a service named like a live one-off is refused, naming both', () => {
    const clash = project([service('api'), service('web'), service('web-run-0a1b2c')]);
    expect(() => plan(clash, afterRun())).toThrow(expect.objectContaining({ code: 'ONE_OFF_NAME_CLASH', message: expect.stringContaining('"web-run-0a1b2c"') }));
  });
});

// The observed state of a project, as the state layer hands it to the planner. The types belong
// to the planner (src/planner/live.ts: they are its input); observe.ts builds them.
export type { LiveNetwork, LiveObject, LiveProcess, LiveService, LiveState, LiveVeth, LiveVolume } from '../planner/live.js';
export { emptyLiveState } from '../planner/live.js';

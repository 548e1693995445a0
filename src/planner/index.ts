// The planner's public face: pure functions from (Project, LiveState) to Plan, and its printing.
export type {
  AttachVeth,
  ConfigStamp,
  CreateNetns,
  CreateNetwork,
  CreateVolume,
  DetachVeth,
  Operation,
  OperationKind,
  OperationOf,
  Plan,
  RemoveNetns,
  RemoveNetwork,
  RemoveProject,
  RemoveService,
  RemoveVolume,
  StartService,
  StopService,
  StopSupervisor,
} from './plan.js';
export { operationService } from './plan.js';
export { plan, planRestart, planStart, planStop, reconcile, type ReconcileOptions, type UpOptions } from './reconcile.js';
export { planDown, planRemove, servicesPart, STOP_SUPERVISOR_ID } from './down.js';
export { restartFollowers, withDependencies, type ProcessMode } from './targets.js';
export { attachmentHash, canonicalJson, changedFields, describeChange, hashNetwork, hashService } from './hash.js';
export { CycleError, toposort } from './toposort.js';
export { assertRunnable, checkRunnable } from './runnable.js';
export { ONE_OFF_LABEL, assertNoOneOffClash, liveOneOffs } from './oneoff.js';
export { renderPlan, renderPlanJson } from './render.js';

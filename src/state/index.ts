// The state layer's public face: where state lives, its records, and observation.
export type { LiveNetwork, LiveObject, LiveProcess, LiveService, LiveState, LiveVeth, LiveVolume } from './live.js';
export { emptyLiveState } from './live.js';
export {
  NETNS_DIR,
  networkRecordPath,
  projectLibDir,
  projectRunDir,
  serviceRecordPath,
  stateRoots,
  volumeDataDir,
  volumeRecordPath,
  type StateRoots,
} from './paths.js';
export {
  claimsNothing,
  freshServiceRecord,
  networkRecords,
  RecordError,
  serviceRecords,
  updateServiceRecord,
  volumeRecords,
  type NetworkRecord,
  type RecordStore,
  type ServiceRecord,
  type VolumeRecord,
} from './records.js';
export { listProjects, observe, type ObserveOptions } from './observe.js';
export { dirPresent, linkPresent, netnsPresent, processAlive } from './probe.js';
export { writeJsonAtomic, readJson } from './atomic.js';

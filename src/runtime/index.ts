// The runtime's API (libcontainer's place under runc): everything the layers above — the
// executor's handlers, the supervisor, watch and the CLI — may do to a service's process. They
// import this module, or control.ts (its narrower second API, for what acts on services that run
// already, without the launch side), and nothing else (the layering test refuses a deep import
// into src/runtime/):
// - create + start: startServiceProcess (cgroups, view, launch), launch for a bare launch;
// - signal + stop: signalNumber, stopService (the stop signal, the grace period, then the
//   cgroup killed; every signal through a pidfd);
// - delete: the service's cgroup handle (destroy) and its runtime folder (state/service-files.ts);
// - the view: prepareMounts, checkTargets, anonymous volumes, volume folders;
// - cgroups: openCgroups, the monitors' own groups;
// - exec: execInService (captured), execAttached (a terminal or the caller's stdio);
// - state: logs and users. A service's runtime files, its exit record (state/service-files.ts,
//   state/exit-record.ts) and process identity (sys/proc.ts) sit below, for readers that
//   start nothing (ps, the supervisor's status).
export { startServiceProcess, type StartRequest, type StartedService } from './service.js';
export { discardPreparedLauncher, launch, monitorEntry, prepareLauncher, type LaunchOptions, type LaunchedService } from './launch.js';
export { LAUNCHER_PATH } from './launcher-path.js';
export { commandOf } from './launcher-config.js';
export { serviceFiles, runtimeRoot, type ServiceFiles } from '../state/service-files.js';
export { prepareMounts, anonymousVolumeKey, anonymousVolumeName, bindBeneath, makeVolumeFolder, renewAnonymousVolumes, volumeOwner, type MountSetup } from './mounts.js';
export { volumesFromMounts } from './volumes-from.js';
export { mountVolume } from './volume-mount.js';
// Stop and signals, cgroups, pause, the monitors' groups, a volume's unmount, Docker's PATH.
export * from './control.js';
export { checkTargets, type ServiceView, type ViewMount } from './view.js';
export { hidesCache, serviceHides, type HidesCache } from './hidden.js';
export { deviceRulesFor } from './devices.js';
export { execAttached, execInService, execTargetOf, type AttachedExec, type ExecService, type ExecTarget } from './exec.js';
export { describeExit, readExitRecord, type ExitRecord } from '../state/exit-record.js';
export { followLogFromNow, followLogs, readLogToFollow, type FollowStart } from './follow.js';
export { readLogLines, type LogLine } from './logs.js';
export { loadUserDb, resolveUser, type UserDb } from './user.js';
export { addedGroups } from './process-settings.js';
export { parseGroup, parsePasswd, type Identity } from './user.js';
export { DetachMatcher, parseDetachKeys, serviceInput, type MonitorRef } from './attach.js';
export { isSameProcess } from './proc.js';

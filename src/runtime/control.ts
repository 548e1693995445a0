// The runtime's second API: what acts on services that run already (stop and signals, pause,
// their cgroups and the monitors' groups) and takes a volume's mount off, without the code that
// starts one (launch, the view's mounts, seccomp, users, exec, logs: index.ts, the first API,
// has all of it and these too).
// A teardown (`down`, `stop`), the supervisor's checks and the firewall load this one only: the
// whole runtime was ~40 % of the executor's kernel side, compiled by every `down` and never run.
export { cannotActOnStop, signalNumber, stopService, type StopOptions, type StopResult, type StopTarget } from './stop.js';
export { openCgroups, type CgroupHandle, type CgroupManager } from './cgroup/index.js';
export { pauseGroup, pauseMarked, unpauseGroup } from './pause.js';
export { inMonitorGroup, monitorPlacement, placeInMonitorGroup, removeMonitorGroup } from './cgroup/monitors.js';
export { unmountVolume } from './volume-mount.js';
export { DEFAULT_SEARCH_PATH } from './search-path.js';

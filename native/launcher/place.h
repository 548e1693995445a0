/* The launcher moves itself into its project's monitor group (src/runtime/cgroup/monitors.ts)
 * as it starts, before it reads its request: Node names the group on the command line
 * (`--monitor-group=<rel>`, then `--hierarchy=<root>` for each cgroup hierarchy), and the move
 * runs in this process while Node goes on making the project's networks. A v2 hierarchy where it
 * was born in the group (src/sys/native-spawn.ts) is left alone: a cgroup.procs write to stay
 * would wait for an RCU grace period. */
#ifndef STACK_LAUNCHER_PLACE_H
#define STACK_LAUNCHER_PLACE_H

/* What placing found wrong: errno 0 when the launcher is in the group in every hierarchy. */
struct placement {
  int err;
  char detail[512];
};

/* Joins the monitor group that argv[1..argc-1] name, making it where it is missing (a v1 cpuset
 * group gets its parent's CPUs and memory nodes, without which no process may join it); a
 * hierarchy mounted read-only is left out. Arguments without the group leave it where it is. */
void place_in_monitor_group(int argc, char **argv, struct placement *out);

#endif

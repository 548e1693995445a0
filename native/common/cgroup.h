/* Joining a cgroup from inside: the calling process moves itself. */
#ifndef STACK_COMMON_CGROUP_H
#define STACK_COMMON_CGROUP_H

/* Opens the file of cgroup folder `dir` that moves its writer there when "0" is written to it:
 * `tasks` where there is one (cgroup v1), else `cgroup.procs` (v2). Writing "0" to v1's `tasks`
 * moves the calling thread only, and a thread that moves itself is moved without the kernel's
 * threadgroup lock (cgroup_procs_write_start), whose write side waits for an RCU grace period
 * unless another move ended within the last one: 10-20 ms here, paid at every launch of a
 * fresh `up`. cgroup.procs moves the whole process under that lock. So: ONLY for a caller with
 * one thread, which is then the whole process (the launcher, the workload it clones, the exec
 * helper's command). `path` (PATH_MAX bytes) gets the file's path; -1 with errno when neither opens. */
int cgroup_join_open(const char *dir, char *path);

/* cgroup_join_open, then "0" written and the file closed: 0, or -1 with errno (`path` as above). */
int cgroup_join(const char *dir, char *path);

#endif

/* The running service the command joins: its main process (a pidfd, checked against its
 * start time since pids are reused), its cgroups, and its namespaces and root. */
#ifndef STACK_EXEC_SERVICE_H
#define STACK_EXEC_SERVICE_H

#include "exec/request.h"

/* The host's /proc, opened by enter_namespaces before the service's mount namespace: the
 * helper's own /proc/self/fd stays reachable through it (the service's /proc is of another
 * pid namespace). -1 before. */
extern int host_proc_fd;

/* A pidfd of the service's main process, refused when that pid is another process now. */
int open_service(const struct request *r);

/* The file that joins each of the service's cgroups (common/cgroup.h: `tasks` on v1, else cgroup.procs),
 * opened while the host's cgroupfs is in sight. */
int *open_cgroups(const struct request *r);

/* Closes what open_cgroups opened (in the helper, once the command has joined). */
void close_cgroups(const struct request *r, const int *fds);

/* Moves the calling process (the command, before exec) into those cgroups. */
void join_cgroups(const struct request *r, const int *fds);

/* Enters the service's ipc, uts, net, pid and mount namespaces through `pidfd` (then closed);
 * `*rootfd` gets the service's root, opened before, and host_proc_fd the host's /proc. */
void enter_namespaces(const struct request *r, int pidfd, int *rootfd);

/* The resource limits of the service's process (its `ulimits:`), read from the host when it may, kept for
 * apply_service_rlimits: a command run in a service has them, as with `docker exec` (runc). */
void read_service_rlimits(pid_t pid);

/* Sets the limits read_service_rlimits kept on the calling process (the command, before exec). */
void apply_service_rlimits(void);

#endif

/* The monitor: conmon's job, in the host's namespaces and outside the service's cgroups.
 * It owns the read ends of the workload's stdout and stderr, so the service never writes
 * into a pipe of the supervisor (no SIGPIPE, no lost output when the supervisor dies),
 * logs every line, reaps the workload and leaves an exit record, then exits itself. */
#ifndef STACK_LAUNCHER_MONITOR_H
#define STACK_LAUNCHER_MONITOR_H
#include <sys/types.h>

#include "launcher/config.h"
#include "launcher/log.h"

/* What the exit record says: the workload (pid and start time), its wait status, and the
 * memory cgroup's oom_kill counter before and after. */
struct exit_info {
  pid_t pid;
  unsigned long long start_time;
  int status;
  long long oom_before, oom_after;
};

/* The `oom_kill N` counter of the service's memory cgroup (v1 memory.oom_control, v2
 * memory.events): the file named in the request, else the first such file among the
 * cgroups; -1 when there is none. */
long long read_oom_kills(const struct config *c);

/* Writes the exit record as JSON, atomically (temp file + rename), for stop/ps/restarts. */
void write_exit_record(const struct config *c, const struct exit_info *e);

/* Copies output to the log until the workload is reaped and both pipes are at EOF (or,
 * after the exit, quiet for a while: a descendant that kept a copy of the pipe); returns the
 * workload's wait status. */
int monitor_loop(struct log *log, pid_t pid, int out_r, int err_r, int sigfd);

#endif

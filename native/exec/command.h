/* The command's side of an exec: forked into the service's pid namespace (the helper has
 * entered its namespaces), it starts a session of its own, joins the cgroups, enters the
 * service's root and directory, drops to the service's user, groups and capabilities by the
 * launcher's rules (common/identity.h), and execs. */
#ifndef STACK_EXEC_COMMAND_H
#define STACK_EXEC_COMMAND_H
#include <sys/types.h>

#include "exec/request.h"

/* Forks the command (`slave`: its terminal in pty mode, else -1; `sigfd`: the helper's, closed
 * in the child, or -1); returns its pid once it has exec'd, or reports why it could not and exits. */
pid_t start_command(const struct request *r, int rootfd, const int *cgroup_fds, int slave, int sigfd);

/* Waits for the command, forwarding signals to its group and killing the group at
 * `timeout_ms` (0: none; *timed_out is then set); returns its wait status. */
int supervise(pid_t child, int sigfd, long long timeout_ms, int *timed_out);

#endif

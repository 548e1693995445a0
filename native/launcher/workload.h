/* The workload side of the launch, run as pid 1 of its fresh pid namespace (cloned with
 * CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC, and NEWNET for "new"): join the cgroups, enter the
 * network namespace, build the filesystem view, set hostname, directory and identity, exec.
 * With `init` it forks first, after all of that, and stays as the init (launcher/init.h): the
 * service runs as pid 2. Every failure is reported through the error pipe and ends this
 * process with 127. */
#ifndef STACK_LAUNCHER_WORKLOAD_H
#define STACK_LAUNCHER_WORKLOAD_H

#include "launcher/config.h"
#include "launcher/init.h"

/* Runs in the cloned child: sets up and execs the service with stdout/stderr on `out_w` and
 * `err_w`. `report` is the init's shared page, NULL without `init`. Never returns. */
__attribute__((noreturn)) void workload_main(const struct config *c, int out_w, int err_w, int in_r, struct init_report *report);

#endif

/* `init: true`: the launcher's own init, in place of tini or catatonit. The process cloned as
 * pid 1 of the new pid namespace does the whole workload setup (cgroups, view, identity,
 * capabilities, no_new_privs), then forks: the child goes on to exec the service as pid 2,
 * the parent stays as a small init under the same privileges. The init
 *   - blocks every signal but the synchronous ones (so stop.ts sees it can act on the stop
 *     signal) and takes them with sigwaitinfo; each one but SIGCHLD is forwarded to the
 *     workload (the child alone, as tini does by default);
 *   - reaps every zombie of the namespace (orphans are reparented to it);
 *   - when the workload ends, leaves its wait status in a page shared with the monitor (so the
 *     exit record tells a signal from an exit code) and exits with its code, or 128+signal
 *     as tini does, which ends whatever else still runs in the namespace.
 * The workload gets its own process group and, when there is a controlling terminal, the
 * terminal's foreground (tcsetpgrp). */
#ifndef STACK_LAUNCHER_INIT_H
#define STACK_LAUNCHER_INIT_H

/* Written by the init when the workload ends, read by the monitor once the init is reaped. */
struct init_report {
  int reaped; /* 1 once `status` holds the workload's wait status */
  int status;
};

/* A page shared by the monitor and the init: both keep it across the clone (no exec in between). */
struct init_report *init_report_page(void);

/* Becomes the init, with the setup done and the privileges already the workload's: returns in
 * the forked workload only (signals still blocked: reset_signals follows), never in the init. */
void start_init(struct init_report *report);

#endif

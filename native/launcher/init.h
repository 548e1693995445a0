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
#pragma once

/* Written by the init when the workload ends, read by the monitor once the init is reaped. */
struct init_report {
  int reaped; /* 1 once `status` holds the workload's wait status */
  int status;
};

/* A page shared by the monitor and the init: both keep it across the clone (no exec in between). */
static struct init_report *init_report_page(void) {
  void *page = mmap(NULL, sizeof(struct init_report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) fail("init", errno, "map the page the init reports the workload's status in");
  return page;
}

/* The signals the init waits for: all but those a fault raises in the init itself (it must die
 * of those), and the terminal stops, which it ignores. */
static void init_signals(sigset_t *set) {
  sigfillset(set);
  static const int own[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
  for (size_t i = 0; i < sizeof own / sizeof *own; i++) sigdelset(set, own[i]);
}

/* In the workload, before its signals are reset: its own process group, in the terminal's
 * foreground when the init has a controlling terminal on stdin. */
static void take_terminal(void) {
  if (setpgid(0, 0) < 0) fail("init", errno, "setpgid");
  if (tcgetpgrp(0) < 0) return; /* no controlling terminal: nothing to pass */
  signal(SIGTTOU, SIG_IGN);      /* a background group may not take the terminal otherwise */
  if (tcsetpgrp(0, getpid()) < 0) fail("init", errno, "tcsetpgrp");
}

/* The init's life once the workload is forked: forwards signals, reaps, and exits with the
 * workload's status. */
__attribute__((noreturn)) static void init_loop(pid_t workload, const sigset_t *waited, struct init_report *report) {
  prctl(PR_SET_NAME, "stack-init", 0, 0, 0);
  /* Only stdio stays: the error pipe must reach EOF at the workload's exec, and the monitor's
   * pipes, log or view fds are none of the init's business. */
  syscall(SYS_close_range, 3U, ~0U, 0U);
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(waited, &info);
    if (sig < 0) continue; /* EINTR: a stop and continue of the init */
    if (sig != SIGCHLD) {
      kill(workload, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != workload) continue;
      report->status = status;
      __atomic_store_n(&report->reaped, 1, __ATOMIC_RELEASE);
      _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
  }
}

/* Becomes the init, with the setup done and the privileges already the workload's: returns in
 * the forked workload only (signals still blocked: reset_signals follows), never in the init. */
static void start_init(struct init_report *report) {
  sigset_t waited;
  init_signals(&waited);
  /* Blocked before the fork: a signal that comes before the init waits stays pending for it. */
  if (sigprocmask(SIG_SETMASK, &waited, NULL) < 0) fail("init", errno, "block signals");
  pid_t workload = fork();
  if (workload < 0) fail("init", errno, "fork the workload");
  if (workload == 0) {
    take_terminal();
    return;
  }
  init_loop(workload, &waited, report);
}

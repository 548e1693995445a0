/* `init: true`, the launcher's own init: see init.h. */
#define _GNU_SOURCE
#include "launcher/init.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/report.h"

struct init_report *init_report_page(void) {
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

void start_init(struct init_report *report) {
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

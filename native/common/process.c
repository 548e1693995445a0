/* Facts about processes: see process.h. */
#define _GNU_SOURCE
#include "common/process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/file.h"

unsigned long long process_start_time(pid_t pid, char *state) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small_file(path, text, sizeof text) < 0) return 0;
  char *p = strrchr(text, ')');
  if (state && p && p[1] == ' ') *state = p[2];
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* The kernel's struct sigaction for rt_sigaction(2) (x86-64 and arm64 layout). */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

void reset_signals(void) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  /* glibc's own signals (32 and 33: thread cancellation, set*id across threads) are not
   * changed by signal(); a program started by glibc's posix_spawn gets them ignored (its child
   * sets them so before the exec, and an ignored signal stays ignored across one), and would
   * hand that on to the workload. The kernel is asked directly. */
  struct kernel_sigaction dfl = {.handler = SIG_DFL};
  for (int sig = 32; sig < SIGRTMIN; sig++) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(unsigned long));
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

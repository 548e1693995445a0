/* The command's side of an exec: see command.h. */
#define _GNU_SOURCE
#include "exec/command.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/identity.h"
#include "common/process.h"
#include "common/report.h"
#include "common/seccomp.h"
#include "exec/pty.h"
#include "exec/service.h"

/* The capabilities in the helper's own bounding set: `--privileged` asks for every capability,
 * and gets those stack has (as Docker's gives those its daemon has). */
static uint64_t own_bounding_set(void) {
  uint64_t mask = 0;
  for (int cap = 0; cap < 64; cap++) {
    int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in < 0) break;
    if (in) mask |= 1ULL << cap;
  }
  return mask;
}

/* The launcher's identity rules (common/identity.h): who the command runs as. */
static void switch_identity(const struct request *r) {
  become(r->caps & own_bounding_set(), r->uid, r->gid, r->groups, r->ngroups);
}

/* Finds the program as execvp would, in the service's PATH and as the service's user. */
static const char *resolve_program(const struct request *r, char *buf, size_t size) {
  return find_program(r->argv[0], r->search_path, buf, size);
}

/* The command's side: `slave` is its terminal in pty mode, else -1. */
/* The helper's pid, taken before the fork (as the host sees it). */
static pid_t helper_pid;

__attribute__((noreturn)) static void child_main(const struct request *r, int rootfd, const int *cgroup_fds, int slave) {
  /* A session of its own: the service's pty becomes its controlling terminal; without one, a
   * command reading the user's terminal (`exec -T`) is not stopped by SIGTTIN. */
  fail_cleanup = NULL; /* the user's terminal is the helper's to restore, not the command's */
  if (setsid() < 0) fail("setsid", errno, "new session");
  if (slave >= 0) {
    if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("pty", errno, "make the pty the controlling terminal");
    for (int fd = 0; fd < 3; fd++)
      if (dup2(slave, fd) < 0) fail("pty", errno, "dup2 the pty onto fd %d", fd);
    if (slave > 2) close(slave);
  }
  join_cgroups(r, cgroup_fds);
  if (fchdir(rootfd) < 0 || chroot(".") < 0) fail("root", errno, "enter the service's root");
  close(rootfd);
  if (chdir(r->cwd) < 0) fail("chdir", errno, "%s", r->cwd);
  apply_service_rlimits();
  switch_identity(r);
  /* After the identity change, which clears it; a helper killed outright takes the command along. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_PDEATHSIG");
  /* The helper lives outside the pid namespace (ppid 0 here), or in it under `pid: host` (ppid
   * its own pid); anything else (1, a subreaper) means it is already gone. */
  pid_t parent = getppid();
  if (parent != 0 && parent != helper_pid) _exit(137);
  char path[PATH_MAX];
  const char *program = resolve_program(r, path, sizeof path);
  reset_signals();
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  /* Last: the service's filter, which a process that entered by setns does not have. */
  seccomp_apply(&r->seccomp);
  execve(program, r->argv, r->env);
  fail("exec", errno, "%s", r->argv[0]);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int supervise(pid_t child, int sigfd, long long timeout_ms, int *timed_out) {
  long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  int status = 0;
  for (;;) {
    if (waitpid(child, &status, WNOHANG) == child) return status;
    int wait = -1;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        *timed_out = 1;
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return status;
      }
      wait = left > INT_MAX ? INT_MAX : (int)left;
    }
    struct pollfd pfd = {sigfd, POLLIN, 0};
    if (poll(&pfd, 1, wait) <= 0) continue;
    struct signalfd_siginfo info;
    while (read(sigfd, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo != SIGCHLD) kill(-child, (int)info.ssi_signo);
    }
  }
}

pid_t start_command(const struct request *r, int rootfd, const int *cgroup_fds, int slave, int sigfd) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) fail("pipe", errno, "create the error pipe");
  helper_pid = getpid();
  pid_t child = fork();
  if (child < 0) fail("fork", errno, "into the service's pid namespace");
  if (child == 0) {
    close(errpipe[0]);
    if (sigfd >= 0) close(sigfd);
    report_fd = errpipe[1];
    child_main(r, rootfd, cgroup_fds, slave);
  }
  close(errpipe[1]);
  char msg[1400];
  size_t n = read_report(errpipe[0], msg, sizeof msg);
  if (n > 0) {
    pty_restore();
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    write_all(report_fd, msg, n);
    _exit(127);
  }
  return child;
}

/* stack's exec helper: runs one command inside a running service (healthchecks, `stack exec`).
 *
 * Node spawns it with the request (NUL-terminated key/value pairs, as for the launcher;
 * src/runtime/exec.ts builds it) on stdin, or on the fd named by `--request-fd N`, and a
 * report pipe on fd 3. The request's `stdio` says what the command gets:
 *   capture  (default; healthchecks) stdin /dev/null, stdout and stderr the helper's fds 1 and 2;
 *   inherit  the helper's fds 0, 1 and 2 as they are (`stack exec -T`);
 *   pty      a pseudo-terminal of the service's own devpts, relayed to the user's terminal
 *            (exec/pty.c);
 *   detach   stdio /dev/null; a monitor process outside the service waits for the command, so
 *            it is nobody's zombie inside the service, and the helper returns once it runs.
 * It:
 *   - opens a pidfd of the service's main process and checks its start time (pids are reused);
 *   - opens the file that joins each of the service's cgroups (common/cgroup.h) while it still
 *     sees the host's cgroupfs (the command joins them before exec; the helper stays out);
 *   - enters the service's ipc, uts, net, pid and mount namespaces in one setns(pidfd) call
 *     (no user namespace: services have none), and the service's root;
 *   - forks (a pid namespace holds only children), and the child starts a session of its own,
 *     joins the cgroups, drops to the service's user, groups and capabilities the way
 *     native/launcher does (bounding set = the service's set, permitted/effective only for
 *     root, no ambient, no_new_privs), then execs the command with the environment given;
 *   - waits, forwarding SIGINT/SIGTERM/SIGHUP/SIGQUIT to the command's process group, and on
 *     `timeout_ms` kills that group.
 * Fd 3 gets one line: `exit\t<code>`, `signal\t<SIGNAME>`, `timeout`, `detached`, or
 * `err\t<stage>\t<ERRNO>\t<detail>` when the command could not be started. The helper exits
 * with the command's code (128+n for a signal, 127 when it never ran). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"
#include "common/number.h"
#include "common/report.h"
#include "exec/command.h"
#include "exec/pty.h"
#include "exec/request.h"
#include "exec/service.h"

/* Node's report pipe: the one line of the result (see the top of this file). */
#define REPORT_FD 3

/* `exec -d`: a monitor, forked before any namespace is entered (so it stays out of the service
 * and is reaped on the host), enters them, starts the command and waits for it; the helper
 * reports `detached` once the command runs, and returns. */
static int detach(const struct request *r, int pidfd, const int *cgroup_fds) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) fail("pipe", errno, "create the ready pipe");
  pid_t monitor = fork();
  if (monitor < 0) fail("fork", errno, "the monitor of a detached command");
  if (monitor == 0) {
    close(ready[0]);
    close(REPORT_FD); /* Node waits for it to close: only the helper keeps it */
    report_fd = ready[1];
    if (setsid() < 0) fail("setsid", errno, "the monitor's session");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++)
      if (null < 0 || dup2(null, fd) < 0) fail("stdio", errno, "point fd %d at /dev/null", fd);
    close(null);
    int rootfd;
    enter_namespaces(r, pidfd, &rootfd);
    pid_t child = start_command(r, rootfd, cgroup_fds, -1, -1);
    close(rootfd);
    close_cgroups(r, cgroup_fds);
    write_all(ready[1], "detached\n", 9);
    close(ready[1]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    _exit(0);
  }
  close(ready[1]);
  char msg[1400];
  size_t n = read_report(ready[0], msg, sizeof msg);
  if (n == 0) fail("detach", ECHILD, "the monitor of the detached command ended without a word");
  write_all(REPORT_FD, msg, n);
  return strncmp(msg, "err\t", 4) ? 0 : 127;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  report_fd = REPORT_FD;
  fail_cleanup = pty_restore;
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) report_fd = 2; /* run by hand, without fd 3 */
  int request_fd = 0;
  if (argc == 3 && !strcmp(argv[1], "--request-fd")) request_fd = (int)parse_number("request", "--request-fd", argv[2], 10, ~0ULL);
  else if (argc != 1) fail("request", EINVAL, "usage: exec [--request-fd N] (the request on stdin or fd N)");
  size_t len;
  char *buf = read_all(request_fd, &len, "request", "the request");
  if (request_fd != 0) close(request_fd);
  struct request r;
  parse_request(&r, buf, len);
  if (r.stdio == STDIO_CAPTURE) {
    /* stdin is the request: the command reads /dev/null. */
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0) fail("stdio", errno, "point stdin at /dev/null");
    close(null);
  }

  int pidfd = open_service(&r);
  read_service_rlimits(r.pid);
  int *cgroup_fds = open_cgroups(&r);
  if (r.stdio == STDIO_DETACH) return detach(&r, pidfd, cgroup_fds);
  int rootfd;
  enter_namespaces(&r, pidfd, &rootfd);

  sigset_t handled;
  sigemptyset(&handled);
  int forwarded[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    if (forwarded[i] != SIGWINCH || r.stdio == STDIO_PTY) sigaddset(&handled, forwarded[i]);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) fail("signalfd", errno, "SIGCHLD and the forwarded signals");

  int master = -1, slave = -1;
  if (r.stdio == STDIO_PTY) {
    master = pty_open(rootfd, r.uid, &slave);
    pty_copy_size(master);
    pty_raw_mode(slave);
  }
  pid_t child = start_command(&r, rootfd, cgroup_fds, slave, sigfd);
  close(rootfd);
  if (slave >= 0) close(slave); /* the command holds it alone: its end is the master's EIO */
  close_cgroups(&r, cgroup_fds);

  int timed_out = 0;
  int status = master >= 0 ? pty_relay(master, child, sigfd) : supervise(child, sigfd, r.timeout_ms, &timed_out);
  pty_restore();
  char line[64];
  int code;
  if (timed_out) {
    snprintf(line, sizeof line, "timeout\n");
    code = 128 + SIGKILL;
  } else if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    snprintf(line, sizeof line, "signal\tSIG%s\n", abbrev ? abbrev : "?");
    code = 128 + WTERMSIG(status);
  } else {
    code = WEXITSTATUS(status);
    snprintf(line, sizeof line, "exit\t%d\n", code);
  }
  write_all(REPORT_FD, line, strlen(line));
  return code;
}

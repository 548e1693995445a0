/* stack's exec helper: runs one command inside a running service (healthchecks, `stack exec`).
 *
 * Node spawns it with the request (NUL-terminated key/value pairs, as for the launcher;
 * src/executor/exec.ts builds it) on stdin, or on the fd named by `--request-fd N`, and a
 * report pipe on fd 3. The request's `stdio` says what the command gets:
 *   capture  (default; healthchecks) stdin /dev/null, stdout and stderr the helper's fds 1 and 2;
 *   inherit  the helper's fds 0, 1 and 2 as they are (`stack exec -T`);
 *   pty      a pseudo-terminal of the service's own devpts, relayed to the user's terminal
 *            (native/exec/pty.h);
 *   detach   stdio /dev/null; a monitor process outside the service waits for the command, so
 *            it is nobody's zombie inside the service, and the helper returns once it runs.
 * It:
 *   - opens a pidfd of the service's main process and checks its start time (pids are reused);
 *   - opens the service's cgroups' cgroup.procs while it still sees the host's cgroupfs (the
 *     command joins them before exec; the helper itself stays out of them);
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
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPORT_FD 3

/* Where failures are reported: fd 3 in the helper, the CLOEXEC error pipe in the child. */
static int report_fd = REPORT_FD;

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) { /* a non-blocking terminal shared with another process */
      struct pollfd pfd = {fd, POLLOUT, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

static void pty_restore(void);

/* Reports a failed step (`err\t<stage>\t<ERRNO>\t<detail>`) and exits 127. */
__attribute__((noreturn, format(printf, 3, 4))) static void fail(const char *stage, int err, const char *fmt, ...) {
  char detail[1024], line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  for (char *p = detail; *p; p++)
    if (*p == '\t' || *p == '\n') *p = ' ';
  const char *name = err ? strerrorname_np(err) : NULL;
  int n = snprintf(line, sizeof line, "err\t%s\t%s\t%s\n", stage, name ? name : "0", detail);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  write_all(report_fd, line, (size_t)n);
  pty_restore();
  _exit(127);
}

/* What the command's stdin, stdout and stderr are (see the top of this file). */
enum stdio_mode { STDIO_CAPTURE, STDIO_INHERIT, STDIO_PTY, STDIO_DETACH };

struct request {
  enum stdio_mode stdio;
  pid_t pid;
  unsigned long long start_time;
  const char **cgroups;
  size_t ncgroups;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  uint64_t caps;
  const char *cwd;
  const char *search_path;
  long long timeout_ms; /* 0: none */
  char **env;
  size_t nenv;
  char **argv;
  size_t nargv;
};

static char *read_all(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf && n == cap) buf = realloc(buf, cap *= 2);
    if (!buf) fail("request", ENOMEM, "reading the request");
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("request", errno, "reading the request from stdin");
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = n;
  return buf;
}

static unsigned long long number(const char *key, const char *value, int base) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, base);
  if (errno || end == value || *end || value[0] == '-') fail("request", EINVAL, "%s: not a number: %s", key, value);
  return v;
}

static enum stdio_mode stdio_mode(const char *value) {
  if (!strcmp(value, "capture")) return STDIO_CAPTURE;
  if (!strcmp(value, "inherit")) return STDIO_INHERIT;
  if (!strcmp(value, "pty")) return STDIO_PTY;
  if (!strcmp(value, "detach")) return STDIO_DETACH;
  fail("request", EINVAL, "stdio: unknown mode %s", value);
}

static void parse_request(struct request *r, char *buf, size_t len) {
  if (len == 0 || buf[len - 1] != '\0') fail("request", EINVAL, "request is empty or not NUL-terminated");
  size_t strings = 0;
  for (size_t i = 0; i < len; i++) strings += buf[i] == '\0';
  memset(r, 0, sizeof *r);
  r->uid = (uid_t)-1;
  r->gid = (gid_t)-1;
  r->cwd = "/";
  r->search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  r->cgroups = calloc(strings, sizeof *r->cgroups);
  r->groups = calloc(strings, sizeof *r->groups);
  r->env = calloc(strings + 1, sizeof *r->env);
  r->argv = calloc(strings + 1, sizeof *r->argv);
  if (!r->cgroups || !r->groups || !r->env || !r->argv) fail("request", ENOMEM, "parsing the request");
  int has_caps = 0;
  for (char *p = buf; p < buf + len;) {
    char *key = p;
    p += strlen(p) + 1;
    if (p >= buf + len) fail("request", EINVAL, "key without a value: %s", key);
    char *value = p;
    p += strlen(p) + 1;
    if (!strcmp(key, "pid")) r->pid = (pid_t)number(key, value, 10);
    else if (!strcmp(key, "start_time")) r->start_time = number(key, value, 10);
    else if (!strcmp(key, "cgroup")) r->cgroups[r->ncgroups++] = value;
    else if (!strcmp(key, "uid")) r->uid = (uid_t)number(key, value, 10);
    else if (!strcmp(key, "gid")) r->gid = (gid_t)number(key, value, 10);
    else if (!strcmp(key, "group")) r->groups[r->ngroups++] = (gid_t)number(key, value, 10);
    else if (!strcmp(key, "caps")) r->caps = number(key, value, 16), has_caps = 1;
    else if (!strcmp(key, "cwd")) r->cwd = value;
    else if (!strcmp(key, "search_path")) r->search_path = value;
    else if (!strcmp(key, "timeout_ms")) r->timeout_ms = (long long)number(key, value, 10);
    else if (!strcmp(key, "stdio")) r->stdio = stdio_mode(value);
    else if (!strcmp(key, "env")) r->env[r->nenv++] = value;
    else if (!strcmp(key, "arg")) r->argv[r->nargv++] = value;
    else fail("request", EINVAL, "unknown key in exec request: %s (helper and Node side out of date?)", key);
  }
  const char *missing = r->pid <= 0 ? "pid" : !r->start_time ? "start_time" : r->uid == (uid_t)-1 ? "uid"
                        : r->gid == (gid_t)-1 ? "gid" : !has_caps ? "caps" : !r->nargv ? "arg" : NULL;
  if (missing) fail("request", EINVAL, "exec request lacks %s", missing);
}

/* Field 22 of /proc/PID/stat: the start time that, with the pid, names one process. */
static unsigned long long read_start_time(pid_t pid, char *state) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  char *p = strrchr(text, ')');
  if (p && p[1] == ' ') *state = p[2];
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* A pidfd of the service's main process, refused when that pid is another process now. */
static int open_service(const struct request *r) {
  int pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
  if (pidfd < 0) fail("service", errno == ESRCH ? ESRCH : errno, "pid %d is not running", (int)r->pid);
  char state = '?';
  /* Checked after the pidfd is open: if the start time matches now, the pidfd is that process. */
  if (read_start_time(r->pid, &state) != r->start_time || state == 'Z')
    fail("service", ESRCH, "pid %d is no longer the service's process", (int)r->pid);
  return pidfd;
}

/* The cgroup.procs of each of the service's cgroups, opened while the host's cgroupfs is in sight. */
static int *open_cgroups(const struct request *r) {
  char path[PATH_MAX];
  int *fds = calloc(r->ncgroups + 1, sizeof *fds);
  if (!fds) fail("cgroup", ENOMEM, "cgroup list");
  for (size_t i = 0; i < r->ncgroups; i++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", r->cgroups[i]);
    fds[i] = open(path, O_WRONLY | O_CLOEXEC);
    if (fds[i] < 0) fail("cgroup", errno, "open %s", path);
  }
  return fds;
}

static void close_cgroups(const struct request *r, const int *fds) {
  for (size_t i = 0; i < r->ncgroups; i++) close(fds[i]);
}

/* Moves the calling process (the command, before exec) into those cgroups. */
static void join_cgroups(const struct request *r, const int *fds) {
  for (size_t i = 0; i < r->ncgroups; i++) {
    if (write(fds[i], "0", 1) != 1) fail("cgroup", errno, "join %s", r->cgroups[i]);
    close(fds[i]);
  }
}

/* The host's /proc, opened before entering the service's mount namespace: the helper's own
 * /proc/self/fd stays reachable through it (the service's /proc is of another pid namespace). */
static int host_proc_fd = -1;

static void enter_namespaces(const struct request *r, int pidfd, int *rootfd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/root", (int)r->pid);
  /* The service's root as it sees it, opened before the host's /proc is out of sight. */
  *rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0) fail("root", errno, "open %s", path);
  host_proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (host_proc_fd < 0) fail("proc", errno, "open /proc");
  if (setns(pidfd, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS) < 0)
    fail("setns", errno, "enter the namespaces of pid %d (ipc, uts, net, pid, mnt)", (int)r->pid);
  close(pidfd);
}

#include "identity.h"
#include "exec/pty.h"

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

/* The launcher's identity rules (native/identity.h): who the command runs as. */
static void switch_identity(const struct request *r) {
  become(r->caps & own_bounding_set(), r->uid, r->gid, r->groups, r->ngroups);
}

/* Finds the program as execvp would, in the service's PATH and as the service's user. */
static const char *resolve_program(const struct request *r, char *buf, size_t size) {
  return find_program(r->argv[0], r->search_path, buf, size);
}

/* The command's side: `slave` is its terminal in pty mode, else -1. */
__attribute__((noreturn)) static void child_main(const struct request *r, int rootfd, const int *cgroup_fds, int slave) {
  /* A session of its own: the service's pty becomes its controlling terminal; without one, a
   * command reading the user's terminal (`exec -T`) is not stopped by SIGTTIN. */
  pty_raw = 0; /* the user's terminal is the helper's to restore */
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
  switch_identity(r);
  /* After the identity change, which clears it; a helper killed outright takes the command along. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_PDEATHSIG");
  /* The helper lives outside the pid namespace (ppid 0 here); 1 means it is already gone. */
  if (getppid() != 0) _exit(137);
  char path[PATH_MAX];
  const char *program = resolve_program(r, path, sizeof path);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(program, r->argv, r->env);
  fail("exec", errno, "%s", r->argv[0]);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child, forwarding signals and enforcing the timeout; returns its wait status. */
static int supervise(pid_t child, int sigfd, long long timeout_ms, int *timed_out) {
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

/* Reads what the forked side wrote to `fd` before it closed (nothing: the exec succeeded). */
static size_t read_report(int fd, char *msg, size_t size) {
  size_t n = 0;
  for (;;) {
    ssize_t got = read(fd, msg + n, size - 1 - n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || (n += (size_t)got) == size - 1) break;
  }
  close(fd);
  msg[n] = '\0';
  return n;
}

/* Forks the command; returns its pid once it has exec'd, or reports why it could not and exits. */
static pid_t start_command(const struct request *r, int rootfd, const int *cgroup_fds, int slave, int sigfd) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) fail("pipe", errno, "create the error pipe");
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
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) report_fd = 2; /* run by hand, without fd 3 */
  int request_fd = 0;
  if (argc == 3 && !strcmp(argv[1], "--request-fd")) request_fd = (int)number("--request-fd", argv[2], 10);
  else if (argc != 1) fail("request", EINVAL, "usage: exec [--request-fd N] (the request on stdin or fd N)");
  size_t len;
  char *buf = read_all(request_fd, &len);
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

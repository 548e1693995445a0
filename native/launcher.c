/* stack's launcher: starts one service as an isolated process and watches it.
 *
 * Node spawns it detached (own session) and writes the launch request on its stdin (see
 * launcher/config.h). It then splits in two:
 *   - the workload, cloned straight into new pid, mount, uts and ipc namespaces (and a new
 *     net namespace on request) so it is pid 1 there, joins its cgroups before its first
 *     instruction, and execs the service (launcher/workload.c); with `init: true` it forks
 *     the service as pid 2 and stays as its init (launcher/init.c);
 *   - this process, which becomes the monitor (launcher/monitor.c): it logs the workload's
 *     output, reaps it, records the exit, and outlives whoever started it.
 * Node reads one line on the launcher's stdout: `ok\t<pid>\t<start time>\t<monitor start
 * time>` once the exec succeeded, or `err\t<stage>\t<ERRNO>\t<detail>` (common/report.c).
 * Then the monitor lets go of Node's pipes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/clone-into.h"
#include "common/file.h"
#include "common/process.h"
#include "common/report.h"
#include "launcher/config.h"
#include "launcher/init.h"
#include "launcher/log.h"
#include "launcher/monitor.h"
#include "launcher/place.h"
#include "launcher/take.h"
#include "launcher/workload.h"

/* Points fds 0-2 at /dev/null: Node's pipes must not stay open for the service's lifetime. */
static void let_go_of_node(void) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  close(null);
  if (chdir("/") < 0) { /* nothing to pin; keep going */ }
}

/* The monitor is the service's only witness (conmon does the same): under host memory
 * pressure, kill anything but it. Set after the clone, so the workload keeps its own score. */
static void protect_from_oom_killer(void) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  write_all(fd, "-1000", 5);
  close(fd);
}

/* `pid: service:NAME`: the monitor enters that pid namespace for its children only (setns with
 * CLONE_NEWPID leaves the caller where it is), so the workload it clones is born there. */
static void join_pid_namespace(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("pidns", errno, "open %s", path);
  if (setns(fd, CLONE_NEWPID) < 0) fail("pidns", errno, "setns %s", path);
  close(fd);
}

/* The workload's clone (`flags`: its namespaces and SIGCHLD). Where one of its groups is a cgroup
 * v2 folder it is cloned straight into it (clone3 CLONE_INTO_CGROUP, Linux 5.7): born there, it is
 * never moved, so it does not wait for the grace period a cgroup.procs write may (v2 has no
 * `tasks`: common/cgroup.h), and it joins only its other groups (c->born_in). Where clone3 is not
 * there (ENOSYS before 5.3, E2BIG before 5.7, a seccomp profile that refuses it: EPERM, EINVAL),
 * or could not give it its cpuset (cpuset_follows_clone_into), clone(2), and the workload joins every
 * group itself. A group that refuses it (pids.max reached: EAGAIN, a domain it cannot be in) fails
 * the launch here: a move would not count it against pids.max. */
static pid_t clone_workload(struct config *c, long flags) {
  c->born_in = -1;
  for (size_t i = 0; i < c->ncgroups; i++) {
    int group = open(c->cgroups[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (group < 0) continue; /* not there: the workload's join says why */
    int cpuset = cgroup_v2_has_at(group, "cpuset");
    if (cpuset < 0 || (cpuset && !cpuset_follows_clone_into())) {
      close(group);
      if (cpuset < 0) continue; /* v1 */
      break;
    }
    struct clone3_args args = {
        .flags = ((uint64_t)flags & ~(uint64_t)CSIGNAL) | CLONE_INTO_CGROUP_FLAG,
        .exit_signal = (uint64_t)(flags & CSIGNAL),
        .cgroup = (uint64_t)group,
    };
    c->born_in = (int)i; /* the child's copy says where it was born */
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    int err = errno;
    close(group);
    if (pid >= 0) return pid;
    c->born_in = -1;
    if (err != ENOSYS && err != E2BIG && err != EPERM && err != EINVAL) fail("cgroup", err, "clone into %s", c->cgroups[i]);
    break;
  }
  return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

/* Relays the workload's failure report, if any; returns whether the exec succeeded. */
static int exec_succeeded(int errpipe) {
  char msg[1400];
  size_t n = read_report(errpipe, msg, sizeof msg);
  if (n == 0) return 1;
  write_all(1, msg, n);
  return 0;
}

/* `launcher --monitor-group=… --hierarchy=… --placed-fd=N [--take-fds=PID] --exec PROGRAM ARGS…`
 * (src/supervisor/control.ts):
 * PROGRAM (the project's supervisor) is born in the monitor group, with every descriptor it was
 * given (its sockets), instead of being moved there once it runs. Placing is best effort here:
 * the supervisor checks where it is and moves itself when this could not. With `--take-fds`, its
 * descriptors and last argument come later, from its caller (launcher/take.h): it was spawned
 * ahead, and placed itself while its caller went on. */
static void exec_placed(int at, char **argv, const struct placement *placement) {
  /* `--placed-fd=N`: the caller's end of a socket pair, closed by the exec below, so the caller
   * knows when this process is placed; a byte written on it says the exec failed ("take" and
   * why, with --take-fds: the descriptors could not be taken, and nothing was run). With
   * --take-fds it is "t" and closed once the descriptors are taken, before the exec. */
  static const char placed_flag[] = "--placed-fd=", take_flag[] = "--take-fds=";
  int placed_fd = -1;
  const char *take = NULL;
  for (int i = 1; i < at; i++) {
    if (!strncmp(argv[i], placed_flag, sizeof placed_flag - 1)) {
      char *end;
      long fd = strtol(argv[i] + sizeof placed_flag - 1, &end, 10);
      if (*end == '\0' && fd >= 3 && fd < 65536) placed_fd = (int)fd;
    } else if (!strncmp(argv[i], take_flag, sizeof take_flag - 1)) {
      take = argv[i] + sizeof take_flag - 1;
    }
  }
  if (placed_fd >= 0) fcntl(placed_fd, F_SETFD, FD_CLOEXEC);
  char **program = argv + at + 1;
  if (take) {
    char why[1024], *end;
    long caller = strtol(take, &end, 10);
    int taken = *end == '\0' && caller > 0 && caller <= INT_MAX
                    ? take_descriptors((pid_t)caller, &placed_fd, program, &program, why, sizeof why)
                    : (snprintf(why, sizeof why, "--take-fds=%s: not a pid", take), -1);
    if (taken == 1) _exit(0); /* let go: the supervisor is started another way, or not at all */
    if (taken < 0) {
      if (placed_fd >= 0) dprintf(placed_fd, "take\t%s\n", why);
      _exit(127);
    }
    /* Taken: its caller need not wait for the exec (1-3 ms here) before it goes on and ends.
     * "t" says so; an exec that fails now is said in the log (its stderr now). */
    if (placed_fd >= 0) {
      /* A caller gone by now (killed once the descriptors were taken) must not take this
       * launcher along through SIGPIPE: Node runs all the same. Reset before the exec below. */
      signal(SIGPIPE, SIG_IGN);
      write_all(placed_fd, "t", 1);
      close(placed_fd);
      placed_fd = -1;
    }
  }
  /* Its output is the program's log: a move that failed is said there (the program moves
   * itself later). */
  if (placement->err) dprintf(2, "stack launcher: not in the monitor group: %s: %s\n", placement->detail, strerror(placement->err));
  signal(SIGPIPE, SIG_DFL);
  execv(program[0], program);
  int err = errno;
  dprintf(2, "stack launcher: cannot run %s: %s\n", program[0], strerror(err));
  if (placed_fd >= 0) write_all(placed_fd, "x", 1);
  _exit(127);
}

int main(int argc, char **argv) {
  /* Spawned wherever its caller is (posix_spawn's chdir is a glibc 2.29 extension): the monitor
   * outlives the caller and must not pin its folder, nor the program it execs (`--exec`). */
  if (chdir("/") < 0) { /* nothing to pin; keep going */ }
  int exec_at = 0;
  for (int i = 1; i < argc && !exec_at; i++)
    if (!strcmp(argv[i], "--exec") && i + 1 < argc) exec_at = i;
  /* Out of the caller's cgroups before anything else, while Node has yet to write the request
   * (launcher/place.h); a failure is the answer to the request. */
  struct placement placement;
  place_in_monitor_group(exec_at ? exec_at : argc, argv, &placement);
  if (exec_at) exec_placed(exec_at, argv, &placement);
  signal(SIGPIPE, SIG_IGN); /* Node may die before reading the result */
  /* The monitor lives as long as the service: an fd it inherited by mistake (a lock file
   * of the caller's) would be held that long. Only stdio is ours. */
  syscall(SYS_close_range, 3U, ~0U, 0U);
  size_t len;
  char *request = read_all(0, &len, "config", "the launch request");
  if (placement.err) fail("place", placement.err, "%s", placement.detail);
  struct config c;
  parse_config(&c, request, len);

  struct log log = {.path = c.log_path, .max_bytes = c.log_max_bytes, .max_files = c.log_max_files, .cap = 256 * 1024};
  log.buf = malloc(log.cap);
  if (!log.buf || log_open(&log) < 0) fail("log", errno, "open %s", c.log_path);
  /* A record of an earlier run would read as this one's exit; and renaming over an old
   * file makes ext4 flush the new one (auto_da_alloc), which costs milliseconds. */
  if (unlink(c.exit_path) < 0 && errno != ENOENT) fail("exit", errno, "remove the old exit record %s", c.exit_path);
  struct exit_info ended = {.oom_before = read_oom_kills(&c)};

  int out[2], err[2], errpipe[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0)
    fail("pipe", errno, "create the output and error pipes");
  /* `tty: true`: a pseudo-terminal (the host's devpts; the fds stay valid in the view) is the
   * workload's stdin, stdout and stderr; the monitor logs what the master reads as stdout.
   * ONLCR off: log lines end in \n, not \r\n. `stdin_open`: a pipe nobody writes to, kept
   * open by the monitor, so a shell waits instead of reading end-of-file. */
  int master = -1, slave = -1;
  if (c.tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) fail("tty", errno, "open a pseudo-terminal");
    const char *name = ptsname(master);
    slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (slave < 0) fail("tty", errno, "open the terminal %s", name ? name : "(no name)");
    struct termios t;
    if (tcgetattr(slave, &t) == 0) {
      t.c_oflag &= ~(tcflag_t)ONLCR;
      tcsetattr(slave, TCSANOW, &t);
    }
  } else if (c.stdin_open && pipe2(in, O_CLOEXEC) < 0) {
    fail("pipe", errno, "create the stdin pipe");
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) fail("signalfd", errno, "SIGCHLD");

  struct init_report *init_report = c.init ? init_report_page() : NULL;
  int new_net = c.netns && !strcmp(c.netns, "new");
  /* A pid or IPC namespace shared (the host's, another service's) is not made anew. */
  if (c.pid_ns && strcmp(c.pid_ns, "host")) join_pid_namespace(c.pid_ns);
  long flags = (c.pid_ns ? 0 : CLONE_NEWPID) | CLONE_NEWNS | CLONE_NEWUTS | (c.ipc_ns ? 0 : CLONE_NEWIPC) | (new_net ? CLONE_NEWNET : 0) | SIGCHLD;
  pid_t pid = clone_workload(&c, flags);
  if (pid < 0) fail("clone", errno, "new pid, mount, uts, ipc%s namespaces", new_net ? ", net" : "");
  if (pid == 0) {
    report_fd = errpipe[1];
    workload_main(&c, c.tty ? slave : out[1], c.tty ? slave : err[1], c.tty ? slave : in[0], init_report);
  }
  close(out[1]);
  close(err[1]);
  close(errpipe[1]);
  if (slave >= 0) close(slave); /* the master reads EIO (an end) once the workload's copies are gone */
  if (in[0] >= 0) close(in[0]); /* in[1] stays open, unwritten, until the monitor exits */
  if (master >= 0) close(out[0]);
  if (!exec_succeeded(errpipe[0])) {
    waitpid(pid, NULL, 0);
    return 1;
  }
  protect_from_oom_killer();
  ended.pid = pid;
  ended.start_time = process_start_time(pid, NULL);
  /* The last field: the descriptor this monitor holds that is the workload's input (the
   * terminal's master, or the write end of the `stdin_open` pipe), -1 when none: `stack attach`
   * takes a copy of it (pidfd_getfd) to type into the service. */
  char ok[160];
  int input = master >= 0 ? master : in[1];
  int n = snprintf(ok, sizeof ok, "ok\t%d\t%llu\t%llu\t%d\n", (int)pid, ended.start_time, process_start_time(getpid(), NULL), input);
  write_all(1, ok, (size_t)n);
  let_go_of_node();

  ended.status = monitor_loop(&log, pid, master >= 0 ? master : out[0], err[0], sigfd);
  /* Under the init, the record tells the workload's own end (an init SIGKILLed with its
   * cgroup left no report: that kill is the end). */
  if (init_report && WIFEXITED(ended.status) && __atomic_load_n(&init_report->reaped, __ATOMIC_ACQUIRE))
    ended.status = init_report->status;
  ended.oom_after = read_oom_kills(&c);
  log_flush(&log);
  write_exit_record(&c, &ended);
  return 0;
}

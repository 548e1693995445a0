/* The workload side of the launch: see workload.h. */
#define _GNU_SOURCE
#include "launcher/workload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/identity.h"
#include "common/process.h"
#include "common/report.h"
#include "common/seccomp.h"
#include "launcher/filesystem.h"
#include "launcher/settings.h"

static void join_cgroups(const struct config *c) {
  char path[PATH_MAX];
  /* This process has one thread: it was cloned a moment ago (common/cgroup.h). The group it
   * was cloned into, if any, it is in already (launcher.c clone_workload). */
  for (size_t i = 0; i < c->ncgroups; i++)
    if ((int)i != c->born_in && cgroup_join(c->cgroups[i], path) < 0) fail("cgroup", errno, "join %s", path);
}

/* `ipc: service:NAME`: the workload joins that service's IPC namespace (SysV shm, semaphores,
 * message queues) before its view mounts /dev/mqueue. */
static void enter_ipcns(const struct config *c) {
  if (!c->ipc_ns || !strcmp(c->ipc_ns, "host")) return;
  int fd = open(c->ipc_ns, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("ipcns", errno, "open %s", c->ipc_ns);
  if (setns(fd, CLONE_NEWIPC) < 0) fail("ipcns", errno, "setns %s", c->ipc_ns);
  close(fd);
}

static void enter_netns(const struct config *c) {
  if (!c->netns || !strcmp(c->netns, "new")) return;
  int fd = open(c->netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("netns", errno, "open %s", c->netns);
  if (setns(fd, CLONE_NEWNET) < 0) fail("netns", errno, "setns %s", c->netns);
  close(fd);
}

/* Who the workload runs as: user, groups, capabilities and no_new_privs, the way Docker
 * sets them (common/identity.h). The bounding set is the service's capability set for every
 * user; a root workload keeps that set permitted and effective, a non-root one has none
 * (setresuid away from 0 clears them, as in Docker: no ambient capabilities). Inheritable is
 * always empty. */
static void switch_identity(const struct config *c) { become(c->caps, c->uid, c->gid, c->groups, c->ngroups); }

/* Finds the program as execvp would, but in the service's PATH and as the service's user. */
static const char *resolve_program(const struct config *c, char *buf, size_t size) {
  return find_program(c->argv[0], c->search_path, buf, size);
}

/* An image's working folder that the image lacks is made, as Docker makes it: by root, 0755,
 * each missing component in turn. This runs inside the view (after the pivot), so a symlink on
 * the way resolves within the image's root. False when one could not be made (errno set). */
static int make_folders(const char *path) {
  char p[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof p) {
    errno = ENAMETOOLONG;
    return 0;
  }
  memcpy(p, path, n + 1);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return 0;
    *s = saved;
    if (saved == '\0') return 1;
  }
}

/* A one-off's holder (`stack run`): the service's namespaces, view, identity and filter, held by
 * a workload that runs no program (the image may have none to spare, not even sleep) and waits
 * for a signal, under the init; the command then runs in it through the exec helper. Closing
 * every fd above stdio reports success to the launcher as an exec would (its error pipe ends). */
__attribute__((noreturn)) static void hold(const struct config *c, struct init_report *report) {
  if (!c->init) fail("config", EINVAL, "hold needs init");
  seccomp_apply(&c->seccomp);
  start_init(report);
  reset_signals();
  prctl(PR_SET_NAME, "stack-hold", 0, 0, 0);
  syscall(SYS_close_range, 3U, ~0U, 0U);
  for (;;) pause();
}

void workload_main(const struct config *c, int out_w, int err_w, int in_r, struct init_report *report) {
  int in = in_r >= 0 ? in_r : open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0 || dup2(in, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) fail("stdio", errno, "set up stdio");
  /* `tty: true`: the pseudo-terminal on 0-2 becomes the controlling terminal of a session of its own. */
  if (c->tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) fail("tty", errno, "make the terminal the service's own");
  join_cgroups(c);
  enter_netns(c);
  enter_ipcns(c);
  /* In its final namespaces, through the host's /proc still mounted here (launcher/settings.h). */
  apply_sysctls(c);
  apply_oom_score_adj(c);
  setup_filesystem(c);
  if (sethostname(c->hostname, strlen(c->hostname)) < 0) fail("hostname", errno, "%s", c->hostname);
  apply_domainname(c);
  if (chdir(c->cwd) < 0 && !(errno == ENOENT && c->nimage_layers > 0 && make_folders(c->cwd) && chdir(c->cwd) == 0)) fail("chdir", errno, "%s", c->cwd);
  /* Last before the identity: a low nofile or nproc must not cut the setup above short. */
  apply_rlimits(c);
  switch_identity(c);
  if (c->hold) hold(c, report);
  char path[PATH_MAX];
  const char *program = resolve_program(c, path, sizeof path);
  /* The seccomp filter comes last: the setup above needs syscalls it refuses (mount, setns,
   * sethostname...), and the init (pid 1 of the service) must be under it as much as the workload. */
  seccomp_apply(&c->seccomp);
  /* The init forks here, with everything above done: it has the workload's identity,
   * capabilities, no_new_privs and seccomp filter, and only the child returns. */
  if (c->init) start_init(report);
  reset_signals();
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(program, c->argv, c->env);
  fail("exec", errno, "%s", c->argv[0]);
}

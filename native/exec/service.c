/* The running service the command joins: see service.h. */
#define _GNU_SOURCE
#include "exec/service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/process.h"
#include "common/report.h"

int host_proc_fd = -1;

static struct rlimit service_limits[RLIM_NLIMITS];
static int have_service_limits;

/* One column of /proc/PID/limits: `unlimited` or a number. */
static int limit_value(const char *text, rlim_t *out) {
  if (!strncmp(text, "unlimited", 9)) return *out = RLIM_INFINITY, 1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text) return 0;
  *out = (rlim_t)v;
  return 1;
}

/* /proc/PID/limits, one line per resource in resource order (the kernel's fixed columns: the
 * soft limit at 26, the hard at 47); readable where prlimit is refused (a service's process of
 * another uid under no_new_privs answers EPERM). */
static int read_proc_limits(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  int ok = fgets(line, sizeof line, f) != NULL; /* the header */
  for (int i = 0; ok && i < RLIM_NLIMITS; i++)
    ok = fgets(line, sizeof line, f) && strlen(line) > 47 && limit_value(line + 26, &service_limits[i].rlim_cur) && limit_value(line + 47, &service_limits[i].rlim_max);
  fclose(f);
  return ok;
}

/* Best effort: limits that cannot be read leave the helper's own. */
void read_service_rlimits(pid_t pid) {
  int i = 0;
  while (i < RLIM_NLIMITS && prlimit(pid, (__rlimit_resource_t)i, NULL, &service_limits[i]) == 0) i++;
  have_service_limits = i == RLIM_NLIMITS || read_proc_limits(pid);
}

void apply_service_rlimits(void) {
  if (!have_service_limits) return;
  for (int i = 0; i < RLIM_NLIMITS; i++)
    if (setrlimit((__rlimit_resource_t)i, &service_limits[i]) < 0) fail("rlimit", errno, "set resource %d", i);
}

int open_service(const struct request *r) {
  int pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
  if (pidfd < 0) fail("service", errno, "pid %d is not running", (int)r->pid);
  char state = '?';
  /* Checked after the pidfd is open: if the start time matches now, the pidfd is that process. */
  if (process_start_time(r->pid, &state) != r->start_time || state == 'Z')
    fail("service", ESRCH, "pid %d is no longer the service's process", (int)r->pid);
  return pidfd;
}

int *open_cgroups(const struct request *r) {
  char path[PATH_MAX];
  int *fds = calloc(r->ncgroups + 1, sizeof *fds);
  if (!fds) fail("cgroup", ENOMEM, "cgroup list");
  for (size_t i = 0; i < r->ncgroups; i++) {
    /* Written by the command's process, one thread then (start_command): common/cgroup.h. */
    fds[i] = cgroup_join_open(r->cgroups[i], path);
    if (fds[i] < 0) fail("cgroup", errno, "open %s", path);
  }
  return fds;
}

void close_cgroups(const struct request *r, const int *fds) {
  for (size_t i = 0; i < r->ncgroups; i++) close(fds[i]);
}

void join_cgroups(const struct request *r, const int *fds) {
  for (size_t i = 0; i < r->ncgroups; i++) {
    if (write(fds[i], "0", 1) != 1) fail("cgroup", errno, "join %s", r->cgroups[i]);
    close(fds[i]);
  }
}

void enter_namespaces(const struct request *r, int pidfd, int *rootfd) {
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

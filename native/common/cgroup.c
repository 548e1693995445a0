/* See cgroup.h. */
#define _GNU_SOURCE
#include "common/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

/* `dir`/`name` into `path` (PATH_MAX); -1 (ENAMETOOLONG) when it does not fit. */
static int file_of(const char *dir, const char *name, char *path) {
  if (snprintf(path, PATH_MAX, "%s/%s", dir, name) < PATH_MAX) return 0;
  errno = ENAMETOOLONG;
  return -1;
}

int cgroup_join_open(const char *dir, char *path) {
  if (file_of(dir, "tasks", path) < 0) return -1;
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0 || errno != ENOENT) return fd;
  /* No `tasks`: cgroup v2, or the folder is not there (cgroup.procs' open says so then). */
  if (file_of(dir, "cgroup.procs", path) < 0) return -1;
  return open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
}

int cgroup_join(const char *dir, char *path) {
  int fd = cgroup_join_open(dir, path);
  if (fd < 0) return -1;
  ssize_t w = write(fd, "0", 1);
  int saved = errno;
  close(fd);
  if (w == 1) return 0;
  errno = w < 0 ? saved : EIO;
  return -1;
}

int cgroup_is_v2(const char *dir) {
  char path[PATH_MAX];
  return file_of(dir, "cgroup.controllers", path) == 0 && access(path, F_OK) == 0;
}

/* See cgroup.h. */
#define _GNU_SOURCE
#include "common/cgroup.h"
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cgroup_join_open(const char *dir, char *path) {
  if (path_join(path, PATH_MAX, dir, "tasks") < 0) return -1;
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0 || errno != ENOENT) return fd;
  /* No `tasks`: cgroup v2, or the folder is not there (cgroup.procs' open says so then). */
  if (path_join(path, PATH_MAX, dir, "cgroup.procs") < 0) return -1;
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

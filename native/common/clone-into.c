/* See clone-into.h. */
#define _GNU_SOURCE
#include "common/clone-into.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int cgroup_v2_has_at(int dirfd, const char *controller) {
  char controllers[4096];
  int fd = openat(dirfd, "cgroup.controllers", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, controllers, sizeof controllers - 1);
  close(fd);
  if (n < 0) return -1;
  controllers[n] = '\0';
  char *save = NULL; /* strtok_r: strtok's position is the process's, and libstack.so's callers are threads */
  for (char *word = strtok_r(controllers, " \n", &save); word; word = strtok_r(NULL, " \n", &save))
    if (!strcmp(word, controller)) return 1;
  return 0;
}

int cpuset_follows_clone_into(void) {
  struct utsname u;
  unsigned major = 0, minor = 0;
  return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 && (major > 6 || (major == 6 && minor >= 3));
}

/* See take.h. */
#define _GNU_SOURCE
#include "launcher/take.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Descriptors taken at most (the supervisor's: its log twice, its mutex, its control socket, a
 * DNS listener pair per network, a socket per published port). */
#define MAX_TAKEN 1024

static int failed(char *why, size_t size, int err, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(why, size, format, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < size) snprintf(why + n, size - (size_t)n, ": %s", strerror(err));
  errno = err;
  return -1;
}

/* All of stdin, NUL-terminated (`*len` bytes before the NUL); NULL with errno. */
static char *read_request(size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) return NULL;
    if (n + 1 >= cap) {
      char *more = realloc(buf, cap *= 2);
      if (!more) {
        free(buf);
        errno = ENOMEM;
        return NULL;
      }
      buf = more;
    }
    ssize_t r = read(0, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      free(buf);
      errno = err;
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

int take_descriptors(pid_t caller, int *placed_fd, char **program, char ***run, char *why, size_t size) {
  size_t len;
  char *text = read_request(&len);
  if (!text) return failed(why, size, errno, "read the request");
  if (len == 0) {
    free(text);
    return 1;
  }
  char *line_end = memchr(text, '\n', len);
  if (!line_end) return failed(why, size, EINVAL, "a request without its line of descriptors");
  *line_end = '\0';
  const char *extra = line_end + 1;
  static int wanted[MAX_TAKEN], taken[MAX_TAKEN];
  size_t n = 0;
  for (char *p = text; *p;) {
    char *end;
    long fd = strtol(p, &end, 10);
    if (end == p || fd < 0 || fd > INT_MAX || n == MAX_TAKEN) return failed(why, size, EINVAL, "a bad list of descriptors");
    wanted[n++] = (int)fd;
    for (p = end; *p == ' '; p++) {}
  }
  int pidfd = (int)syscall(SYS_pidfd_open, caller, 0);
  if (pidfd < 0) return failed(why, size, errno, "pidfd_open its caller %d", (int)caller);
  /* The pid is its caller's only while the caller is its parent: reparented, the pid may be another's. */
  if (getppid() != caller) return failed(why, size, ESRCH, "pid %d is not its parent (its caller is gone)", (int)caller);
  /* Set aside above 1..n, where the taken ones go: the placed end, then each as it is taken. */
  int above = (int)n + 1;
  int placed = fcntl(*placed_fd, F_DUPFD_CLOEXEC, above);
  if (placed < 0) return failed(why, size, errno, "move the placed descriptor");
  close(*placed_fd);
  *placed_fd = placed;
  for (size_t i = 0; i < n; i++) {
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, wanted[i], 0);
    if (fd < 0) return failed(why, size, errno, "pidfd_getfd descriptor %d of its caller", wanted[i]);
    taken[i] = fd >= above ? fd : fcntl(fd, F_DUPFD_CLOEXEC, above);
    if (taken[i] < 0) return failed(why, size, errno, "set descriptor %d aside", wanted[i]);
    if (taken[i] != fd) close(fd);
  }
  close(pidfd);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0) return failed(why, size, errno, "point stdin at /dev/null");
  close(null);
  for (size_t i = 0; i < n; i++) {
    /* dup2 leaves the new descriptor without FD_CLOEXEC: the program inherits it. */
    if (dup2(taken[i], (int)i + 1) < 0) return failed(why, size, errno, "put descriptor %d in place", wanted[i]);
    close(taken[i]);
  }
  size_t argc = 0;
  while (program[argc]) argc++;
  char **argv = calloc(argc + 2, sizeof *argv);
  if (!argv) return failed(why, size, ENOMEM, "its arguments");
  memcpy(argv, program, argc * sizeof *argv);
  if (*extra) argv[argc] = (char *)extra;
  *run = argv;
  return 0;
}

/* Reading files and pipes whole: see file.h. */
#define _GNU_SOURCE
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/report.h"

char *read_all(int fd, size_t *len, const char *stage, const char *what) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf && n == cap) buf = realloc(buf, cap *= 2);
    if (!buf) fail(stage, ENOMEM, "reading %s", what);
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(stage, errno, "reading %s from stdin", what);
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = n;
  return buf;
}

ssize_t read_small_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  return n;
}

int write_small_file(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  size_t n = strlen(value);
  ssize_t w = write(fd, value, n);
  int saved = errno;
  close(fd);
  if (w != (ssize_t)n) {
    errno = w < 0 ? saved : EIO;
    return -1;
  }
  return 0;
}

int path_join(char *buf, size_t size, const char *a, const char *b) {
  if ((size_t)snprintf(buf, size, "%s/%s", a, b) < size) return 0;
  errno = ENAMETOOLONG;
  return -1;
}

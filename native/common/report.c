/* Failure reports: see report.h. */
#define _GNU_SOURCE
#include "common/report.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int report_fd = 1;
void (*fail_cleanup)(void);

static const char *errno_name(int err) {
  const char *name = err ? strerrorname_np(err) : NULL;
  return name ? name : "0";
}

void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

void fail(const char *stage, int err, const char *fmt, ...) {
  char detail[1024], line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  for (char *p = detail; *p; p++)
    if (*p == '\t' || *p == '\n') *p = ' ';
  int n = snprintf(line, sizeof line, "err\t%s\t%s\t%s\n", stage, errno_name(err), detail);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  write_all(report_fd, line, (size_t)n);
  if (fail_cleanup) fail_cleanup();
  _exit(127);
}

size_t read_report(int fd, char *msg, size_t size) {
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

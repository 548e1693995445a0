/* Failure reports. One line, `err\t<stage>\t<ERRNO>\t<detail>\n`, parsed by src/executor/launch.ts.
 * Before the workload exists the line goes straight to Node (fd 1, the result pipe); inside
 * the workload it goes through the CLOEXEC error pipe, and the monitor relays it to Node.
 * An exec that succeeds closes that pipe with nothing written: the classic fork+exec check. */
#pragma once

/* Where fail() writes: the result pipe in the monitor, the error pipe in the workload. */
static int report_fd = 1;

static const char *errno_name(int err) {
  const char *name = err ? strerrorname_np(err) : NULL;
  return name ? name : "0";
}

/* Writes all of buf, retrying short writes and EINTR; errors are ignored (the reader may be gone). */
static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

static void report_failure(int fd, const char *stage, int err, const char *fmt, va_list ap) {
  char detail[1024];
  vsnprintf(detail, sizeof detail, fmt, ap);
  for (char *p = detail; *p; p++)
    if (*p == '\t' || *p == '\n') *p = ' ';
  char line[1200];
  int n = snprintf(line, sizeof line, "err\t%s\t%s\t%s\n", stage, errno_name(err), detail);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  write_all(fd, line, (size_t)n);
}

/* Reports a failed step of the launch and exits: 127 like a shell's "command failed to start". */
__attribute__((noreturn, format(printf, 3, 4))) static void fail(const char *stage, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report_failure(report_fd, stage, err, fmt, ap);
  va_end(ap);
  _exit(127);
}

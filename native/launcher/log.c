/* The service's log: see log.h. */
#define _GNU_SOURCE
#include "launcher/log.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/report.h"

int log_open(struct log *l) {
  l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600); /* what a service prints may be a secret */
  if (l->fd < 0) return -1;
  fchmod(l->fd, 0600); /* a log an earlier version made 0640 */
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
  return 0;
}

void log_flush(struct log *l) {
  if (l->len == 0) return;
  write_all(l->fd, l->buf, l->len);
  l->size += (long long)l->len;
  l->len = 0;
}

static void log_rotate(struct log *l) {
  log_flush(l);
  close(l->fd);
  char from[PATH_MAX], to[PATH_MAX];
  for (int i = l->max_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", l->path);
    else snprintf(from, sizeof from, "%s.%d", l->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", l->path, i);
    rename(from, to);
  }
  if (l->max_files == 1) unlink(l->path);
  if (log_open(l) < 0) l->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
}

/* Appends one record; rotates first when it would push the live file past its bound. */
static void log_record(struct log *l, const char *stamp, const char *stream, char tag, const char *data, size_t n) {
  size_t need = strlen(stamp) + strlen(stream) + n + 6;
  if (l->size + (long long)(l->len + need) > l->max_bytes && l->size + (long long)l->len > 0) log_rotate(l);
  if (l->len + need > l->cap) log_flush(l);
  char *p = l->buf + l->len;
  p += sprintf(p, "%s %s %c ", stamp, stream, tag);
  memcpy(p, data, n);
  p[n] = '\n';
  l->len = (size_t)(p + n + 1 - l->buf);
}

void format_now(char out[40]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

void log_chunk(struct log *l, const char *stream, const char *data, size_t n) {
  char stamp[40];
  format_now(stamp);
  while (n > 0) {
    const char *nl = memchr(data, '\n', n);
    size_t len = nl ? (size_t)(nl - data) : n;
    log_record(l, stamp, stream, nl ? 'F' : 'P', data, len);
    data += len + (nl ? 1 : 0);
    n -= len + (nl ? 1 : 0);
  }
  log_flush(l);
}

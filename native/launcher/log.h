/* The service's log: the CRI log format Kubernetes uses, one record per line of output,
 *   2026-11-22T16:00:00.123456789Z stdout F hello
 * F ends a line, P is a piece of a line (no newline yet, or longer than one read), so
 * concatenating P pieces up to the next F gives back the output byte for byte.
 * Rotated by size: <log> → <log>.1 → <log>.2 ..., at most max_files files of max_bytes. */
#ifndef STACK_LAUNCHER_LOG_H
#define STACK_LAUNCHER_LOG_H
#include <stddef.h>

struct log {
  const char *path;
  int fd;
  long long size; /* bytes in the live file, buffered ones excluded */
  long long max_bytes;
  int max_files;
  char *buf;
  size_t len, cap;
};

/* Opens (appends to) the live file at l->path; -1 with errno when it cannot. */
int log_open(struct log *l);

/* Writes out the buffered records. */
void log_flush(struct log *l);

/* Records one chunk read from a stream: every full line as F, a trailing piece as P. */
void log_chunk(struct log *l, const char *stream, const char *data, size_t n);

/* The current time as RFC 3339 with nanoseconds, UTC. */
void format_now(char out[40]);

#endif

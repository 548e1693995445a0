/* Requests of NUL-terminated key/value pairs (`key\0value\0...`): the launch request, the exec
 * request and the seccomp compiler's filter, each written by Node on the program's stdin. */
#ifndef STACK_COMMON_PAIRS_H
#define STACK_COMMON_PAIRS_H
#include <stddef.h>

struct pairs {
  char *next, *end;
  const char *stage;
};

/* Starts reading the request `what` ("launch request") in `buf`; fails with `stage` unless
 * it is non-empty and NUL-terminated. Returns how many strings it holds (a bound on any list). */
size_t pairs_start(struct pairs *it, char *buf, size_t len, const char *stage, const char *what);

/* Sets `*key` and `*value` (pointing into the buffer) to the next pair and returns 1, or returns
 * 0 at the end; fails on a key without a value. */
int pairs_next(struct pairs *it, char **key, char **value);

#endif

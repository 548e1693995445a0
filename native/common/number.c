/* Numbers in requests: see number.h. */
#define _GNU_SOURCE
#include "common/number.h"

#include <errno.h>
#include <stdlib.h>

#include "common/report.h"

unsigned long long parse_number(const char *stage, const char *key, const char *value, int base, unsigned long long max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, base);
  if (errno || end == value || *end || value[0] == '-' || v > max) fail(stage, EINVAL, "%s: not a number: %s", key, value);
  return v;
}

/* Key/value requests: see pairs.h. */
#define _GNU_SOURCE
#include "common/pairs.h"

#include <errno.h>
#include <string.h>

#include "common/report.h"

size_t pairs_start(struct pairs *it, char *buf, size_t len, const char *stage, const char *what) {
  if (len == 0 || buf[len - 1] != '\0') fail(stage, EINVAL, "%s is empty or not NUL-terminated", what);
  size_t strings = 0;
  for (size_t i = 0; i < len; i++) strings += buf[i] == '\0';
  *it = (struct pairs){.next = buf, .end = buf + len, .stage = stage};
  return strings;
}

int pairs_next(struct pairs *it, char **key, char **value) {
  if (it->next >= it->end) return 0;
  *key = it->next;
  it->next += strlen(it->next) + 1;
  if (it->next >= it->end) fail(it->stage, EINVAL, "key without a value: %s", *key);
  *value = it->next;
  it->next += strlen(it->next) + 1;
  return 1;
}

/* The exec request: see request.h. */
#define _GNU_SOURCE
#include "exec/request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/identity.h"
#include "common/number.h"
#include "common/pairs.h"
#include "common/report.h"
#include "common/seccomp.h"

/* Any unsigned number: the request's fields are checked by their use (uid -1 is "missing"). */
static unsigned long long number(const char *key, const char *value, int base) {
  return parse_number("request", key, value, base, ~0ULL);
}

static enum stdio_mode stdio_mode(const char *value) {
  if (!strcmp(value, "capture")) return STDIO_CAPTURE;
  if (!strcmp(value, "inherit")) return STDIO_INHERIT;
  if (!strcmp(value, "pty")) return STDIO_PTY;
  if (!strcmp(value, "detach")) return STDIO_DETACH;
  fail("request", EINVAL, "stdio: unknown mode %s", value);
}

void parse_request(struct request *r, char *buf, size_t len) {
  struct pairs it;
  size_t strings = pairs_start(&it, buf, len, "request", "request");
  memset(r, 0, sizeof *r);
  r->uid = (uid_t)-1;
  r->gid = (gid_t)-1;
  r->cwd = "/";
  r->search_path = DEFAULT_SEARCH_PATH;
  r->cgroups = calloc(strings, sizeof *r->cgroups);
  r->groups = calloc(strings, sizeof *r->groups);
  r->env = calloc(strings + 1, sizeof *r->env);
  r->argv = calloc(strings + 1, sizeof *r->argv);
  if (!r->cgroups || !r->groups || !r->env || !r->argv) fail("request", ENOMEM, "parsing the request");
  int has_caps = 0;
  for (char *key, *value; pairs_next(&it, &key, &value);) {
    if (!strcmp(key, "pid")) r->pid = (pid_t)number(key, value, 10);
    else if (!strcmp(key, "start_time")) r->start_time = number(key, value, 10);
    else if (!strcmp(key, "cgroup")) r->cgroups[r->ncgroups++] = value;
    else if (!strcmp(key, "uid")) r->uid = (uid_t)number(key, value, 10);
    else if (!strcmp(key, "gid")) r->gid = (gid_t)number(key, value, 10);
    else if (!strcmp(key, "group")) r->groups[r->ngroups++] = (gid_t)number(key, value, 10);
    else if (!strcmp(key, "caps")) r->caps = number(key, value, 16), has_caps = 1;
    else if (!strcmp(key, "cwd")) r->cwd = value;
    else if (!strcmp(key, "search_path")) r->search_path = value;
    else if (!strcmp(key, "timeout_ms")) r->timeout_ms = (long long)number(key, value, 10);
    else if (!strcmp(key, "stdio")) r->stdio = stdio_mode(value);
    else if (!strcmp(key, "env")) r->env[r->nenv++] = value;
    else if (!strcmp(key, "arg")) r->argv[r->nargv++] = value;
    else if (seccomp_request_key(&r->seccomp, key, value)) continue;
    else fail("request", EINVAL, "unknown key in exec request: %s (helper and Node side out of date?)", key);
  }
  const char *missing = r->pid <= 0 ? "pid" : !r->start_time ? "start_time" : r->uid == (uid_t)-1 ? "uid"
                        : r->gid == (gid_t)-1 ? "gid" : !has_caps ? "caps" : !r->nargv ? "arg" : NULL;
  if (missing) fail("request", EINVAL, "exec request lacks %s", missing);
}

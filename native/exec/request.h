/* The exec request: NUL-terminated key/value pairs (`key\0value\0`) as for the launcher, built
 * by src/runtime/exec.ts. */
#ifndef STACK_EXEC_REQUEST_H
#define STACK_EXEC_REQUEST_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/seccomp.h"

/* What the command's stdin, stdout and stderr are (see the top of exec.c). */
enum stdio_mode { STDIO_CAPTURE, STDIO_INHERIT, STDIO_PTY, STDIO_DETACH };

struct request {
  enum stdio_mode stdio;
  pid_t pid;
  unsigned long long start_time;
  const char **cgroups;
  size_t ncgroups;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  uint64_t caps;
  const char *cwd;
  const char *search_path;
  long long timeout_ms; /* 0: none */
  char **env;
  size_t nenv;
  char **argv;
  size_t nargv;
  struct seccomp_request seccomp; /* the service's filter, loaded before exec (common/seccomp.h) */
};

/* Parses the request in `buf` (kept: the request points into it); fails with a "request"
 * report on any unknown key or missing value. */
void parse_request(struct request *r, char *buf, size_t len);

#endif

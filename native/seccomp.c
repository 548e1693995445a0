/* stack's seccomp compiler: turns a service's filter into BPF once, so launches can load it as
 * is instead of building it with libseccomp each time (about 380 rules on three x86 ABIs cost
 * milliseconds per build; src/runtime/seccomp/compile.ts keeps the result per filter).
 *
 * Node writes the filter's request pairs (seccomp_default, seccomp_arch, seccomp_flag,
 * seccomp_rule: see common/seccomp.h) on stdin, NUL-terminated as in the launch request; the
 * BPF (the struct sock_filter array seccomp_load would install) comes out on stdout. A failure
 * is reported on stderr as `err\t<stage>\t<ERRNO>\t<detail>` with exit code 127. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "common/file.h"
#include "common/pairs.h"
#include "common/report.h"
#include "common/seccomp.h"

int main(void) {
  report_fd = 2; /* stdout is the filter */
  size_t len;
  char *buf = read_all(0, &len, "request", "the seccomp filter");
  struct pairs it;
  pairs_start(&it, buf, len, "request", "request");
  struct seccomp_request s;
  memset(&s, 0, sizeof s);
  for (char *key, *value; pairs_next(&it, &key, &value);)
    if (!seccomp_request_key(&s, key, value) || s.bpf) fail("request", EINVAL, "not a seccomp filter key: %s", key);
  seccomp_export(&s, 1);
  return 0;
}

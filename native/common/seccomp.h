/* The service's seccomp filter, loaded through libseccomp by the launcher (the workload and its
 * init) and by the exec helper (a process that joins a service by setns does not inherit the
 * workload's filter, so each command loads its own). Node resolves the profile for the service
 * (src/runtime/seccomp/) and sends it as request pairs:
 *   seccomp_default  the action for a syscall no rule names: allow, errno:N, trace:N,
 *                    kill_process, kill_thread, trap or log; without it, no filter;
 *   seccomp_arch     an architecture by libseccomp's name (x86_64, x86, x32, aarch64, arm...);
 *   seccomp_flag     log or spec_allow;
 *   seccomp_rule     `<action>\t<syscall>[\t<index>,<op>,<value>,<value two>]...`, op one of
 *                    ne lt le eq ge gt masked_eq (masked_eq: (arg & value) == value two);
 *   seccomp_bpf      instead of the above but the flags: the filter already compiled (hex of
 *                    its struct sock_filter array, as native/seccomp.c writes it), loaded as is.
 * A syscall this libseccomp does not know is skipped, as Docker does; so is a rule whose action
 * is the default one. */
#ifndef STACK_COMMON_SECCOMP_H
#define STACK_COMMON_SECCOMP_H
#include <stddef.h>

struct seccomp_request {
  const char *default_action; /* NULL: no filter */
  const char **arches;
  size_t narches;
  const char **flags;
  size_t nflags;
  const char **rules;
  size_t nrules;
  unsigned char *bpf; /* seccomp_bpf decoded, or NULL */
  size_t bpf_len;     /* bytes */
};

/* Takes the pair if `key` is one of the seccomp keys above (returns 1), else returns 0. */
int seccomp_request_key(struct seccomp_request *s, const char *key, const char *value);

/* Builds the filter (or takes the compiled one) and loads it on the calling thread
 * (no_new_privs must be set, as common/identity.c does); nothing without a default action or a
 * compiled filter. Fails with a "seccomp" report. */
void seccomp_apply(const struct seccomp_request *s);

/* Builds the filter and writes it as BPF (struct sock_filter array) to `fd`. */
void seccomp_export(const struct seccomp_request *s, int fd);

#endif

/* The service's seccomp filter: see seccomp.h. */
#define _GNU_SOURCE
#include "common/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/report.h"

/* Appends `value` to a growing list. */
static void push(const char ***list, size_t *n, const char *value) {
  const char **grown = realloc(*list, (*n + 1) * sizeof **list);
  if (!grown) fail("seccomp", ENOMEM, "the seccomp request");
  grown[(*n)++] = value;
  *list = grown;
}

/* The hex of a compiled filter, decoded; fails unless it is whole instructions. */
static void decode_bpf(struct seccomp_request *s, const char *hex) {
  size_t n = strlen(hex);
  if (n == 0 || n % (2 * sizeof(struct sock_filter)) || n / 2 / sizeof(struct sock_filter) > BPF_MAXINSNS)
    fail("seccomp", EINVAL, "seccomp_bpf: not a whole filter (%zu hex digits)", n);
  s->bpf = malloc(n / 2);
  if (!s->bpf) fail("seccomp", ENOMEM, "the compiled seccomp filter");
  for (size_t i = 0; i < n / 2; i++) {
    unsigned byte = 0;
    for (int j = 0; j < 2; j++) {
      char c = hex[2 * i + (size_t)j];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (v < 0) fail("seccomp", EINVAL, "seccomp_bpf: not hex at %zu", 2 * i + (size_t)j);
      byte = byte * 16 + (unsigned)v;
    }
    s->bpf[i] = (unsigned char)byte;
  }
  s->bpf_len = n / 2;
}

int seccomp_request_key(struct seccomp_request *s, const char *key, const char *value) {
  if (strncmp(key, "seccomp_", 8)) return 0;
  if (!strcmp(key, "seccomp_default")) s->default_action = value;
  else if (!strcmp(key, "seccomp_bpf")) decode_bpf(s, value);
  else if (!strcmp(key, "seccomp_arch")) push(&s->arches, &s->narches, value);
  else if (!strcmp(key, "seccomp_flag")) push(&s->flags, &s->nflags, value);
  else if (!strcmp(key, "seccomp_rule")) push(&s->rules, &s->nrules, value);
  else return 0;
  return 1;
}

/* A number of a rule (decimal), or fails naming the rule. */
static uint64_t rule_number(const char *text, const char *rule) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-') fail("seccomp", EINVAL, "not a number in seccomp rule %s: %s", rule, text);
  return v;
}

/* `allow`, `errno:1`, ... as a libseccomp action. */
static uint32_t action_of(const char *text, const char *rule) {
  if (!strcmp(text, "allow")) return SCMP_ACT_ALLOW;
  if (!strcmp(text, "kill_process")) return SCMP_ACT_KILL_PROCESS;
  if (!strcmp(text, "kill_thread")) return SCMP_ACT_KILL_THREAD;
  if (!strcmp(text, "trap")) return SCMP_ACT_TRAP;
  if (!strcmp(text, "log")) return SCMP_ACT_LOG;
  if (!strncmp(text, "errno:", 6)) return SCMP_ACT_ERRNO((uint16_t)rule_number(text + 6, rule));
  if (!strncmp(text, "trace:", 6)) return SCMP_ACT_TRACE((uint16_t)rule_number(text + 6, rule));
  fail("seccomp", EINVAL, "unknown seccomp action %s (in %s)", text, rule);
}

static enum scmp_compare op_of(const char *text, const char *rule) {
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
    {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp(text, ops[i].name)) return ops[i].op;
  fail("seccomp", EINVAL, "unknown comparison %s in seccomp rule %s", text, rule);
}

/* Adds one `seccomp_rule` value to the filter; returns whether it was added (skipped: an unknown
 * syscall, the default action). */
static int add_rule(scmp_filter_ctx ctx, uint32_t default_action, const char *rule) {
  char copy[1024];
  if (strlen(rule) >= sizeof copy) fail("seccomp", E2BIG, "seccomp rule too long: %.64s...", rule);
  strcpy(copy, rule);
  char *save = NULL;
  const char *action_text = strtok_r(copy, "\t", &save);
  const char *name = strtok_r(NULL, "\t", &save);
  if (!action_text || !name) fail("seccomp", EINVAL, "seccomp rule without a syscall: %s", rule);
  uint32_t action = action_of(action_text, rule);
  struct scmp_arg_cmp args[6];
  unsigned nargs = 0;
  for (char *arg; (arg = strtok_r(NULL, "\t", &save));) {
    if (nargs == 6) fail("seccomp", EINVAL, "more than 6 argument tests in seccomp rule %s", rule);
    char *fields[4], *fsave = NULL;
    int n = 0;
    for (char *f = strtok_r(arg, ",", &fsave); f && n < 4; f = strtok_r(NULL, ",", &fsave)) fields[n++] = f;
    if (n != 4) fail("seccomp", EINVAL, "argument test of seccomp rule %s is not index,op,value,value2", rule);
    uint64_t index = rule_number(fields[0], rule);
    if (index > 5) fail("seccomp", EINVAL, "argument index %llu out of 0-5 in seccomp rule %s", (unsigned long long)index, rule);
    args[nargs++] = (struct scmp_arg_cmp){.arg = (unsigned)index, .op = op_of(fields[1], rule),
                                         .datum_a = rule_number(fields[2], rule), .datum_b = rule_number(fields[3], rule)};
  }
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return 0; /* newer than this libseccomp: Docker skips it too */
  if (action == default_action) return 0; /* libseccomp refuses a rule that changes nothing */
  int rc = seccomp_rule_add_array(ctx, action, nr, nargs, args);
  if (rc < 0) fail("seccomp", -rc, "add the seccomp rule %s", rule);
  return 1;
}

/* The seccomp(2) flags the request's `seccomp_flag`s ask for. */
static unsigned filter_flags(const struct seccomp_request *s) {
  unsigned flags = 0;
  for (size_t i = 0; i < s->nflags; i++) {
    if (!strcmp(s->flags[i], "log")) flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (!strcmp(s->flags[i], "spec_allow")) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else fail("seccomp", EINVAL, "unknown seccomp flag %s", s->flags[i]);
  }
  return flags;
}

/* The filter of the request in libseccomp's hands (the caller releases it). */
static scmp_filter_ctx build(const struct seccomp_request *s) {
  if (!s->default_action) fail("seccomp", EINVAL, "a seccomp filter without seccomp_default");
  uint32_t default_action = action_of(s->default_action, "seccomp_default");
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx) fail("seccomp", EINVAL, "seccomp_init with default action %s", s->default_action);
  for (size_t i = 0; i < s->narches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(s->arches[i]);
    if (!arch) fail("seccomp", EINVAL, "unknown seccomp architecture %s", s->arches[i]);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) fail("seccomp", -rc, "add the seccomp architecture %s", s->arches[i]);
  }
  unsigned flags = filter_flags(s);
  if (flags & SECCOMP_FILTER_FLAG_LOG) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
  if (flags & SECCOMP_FILTER_FLAG_SPEC_ALLOW) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
  size_t added = 0;
  for (size_t i = 0; i < s->nrules; i++) added += (size_t)add_rule(ctx, default_action, s->rules[i]);
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
  /* A binary tree over the syscall numbers instead of one long chain of comparisons: ~10 tests
   * per syscall instead of up to ~400, for every syscall the service makes and for the kernel's
   * check of each syscall number when the filter is loaded (its action cache). Only with a
   * libseccomp of 2.5.4 or later running (2.5.0-2.5.3 could lose the default action of a tree,
   * libseccomp issue #370) and only with rules to sort (2.5.5 fixed empty trees); otherwise, or
   * should it refuse, the chain: the same filter, only slower. */
  const struct scmp_version *v = seccomp_version();
  if (added > 0 && v && (v->major > 2 || (v->major == 2 && (v->minor > 5 || (v->minor == 5 && v->micro >= 4)))))
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
  return ctx;
}

void seccomp_apply(const struct seccomp_request *s) {
  if (s->bpf) {
    /* Compiled by native/seccomp.c from the same rules: what seccomp_load would install. */
    struct sock_fprog prog = {.len = (unsigned short)(s->bpf_len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)s->bpf};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags(s), &prog) < 0)
      fail("seccomp", errno, "load the compiled seccomp filter (%u instructions)", prog.len);
    return;
  }
  if (!s->default_action) return;
  scmp_filter_ctx ctx = build(s);
  int rc = seccomp_load(ctx);
  if (rc < 0) fail("seccomp", -rc, "load the seccomp filter (%zu rules)", s->nrules);
  seccomp_release(ctx);
}

void seccomp_export(const struct seccomp_request *s, int fd) {
  scmp_filter_ctx ctx = build(s);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) fail("seccomp", -rc, "export the seccomp filter (%zu rules)", s->nrules);
  seccomp_release(ctx);
}

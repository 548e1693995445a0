/* Sysctls, rlimits, OOM score and domain name of the workload: see settings.h. */
#define _GNU_SOURCE
#include "launcher/settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/file.h"
#include "common/report.h"

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},       {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

/* Parses `NAME SOFT HARD`; false when malformed. */
static int parse_rlimit(const char *value, int *resource, struct rlimit *lim) {
  char name[32];
  long long soft, hard;
  int used = 0;
  if (sscanf(value, "%31s %lld %lld%n", name, &soft, &hard, &used) != 3 || value[used] != '\0') return 0;
  if (soft < -1 || hard < -1) return 0;
  for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++) {
    if (strcmp(rlimit_names[i].name, name)) continue;
    *resource = rlimit_names[i].resource;
    lim->rlim_cur = soft == -1 ? RLIM_INFINITY : (rlim_t)soft;
    lim->rlim_max = hard == -1 ? RLIM_INFINITY : (rlim_t)hard;
    return 1;
  }
  return 0;
}

int rlimit_request_ok(const char *value) {
  int resource;
  struct rlimit lim;
  return parse_rlimit(value, &resource, &lim);
}

void apply_rlimits(const struct config *c) {
  for (size_t i = 0; i < c->nrlimits; i++) {
    int resource;
    struct rlimit lim;
    if (!parse_rlimit(c->rlimits[i], &resource, &lim)) fail("rlimit", EINVAL, "%s", c->rlimits[i]);
    if (setrlimit(resource, &lim) < 0) fail("rlimit", errno, "%s", c->rlimits[i]);
  }
}

void apply_sysctls(const struct config *c) {
  char path[PATH_MAX];
  for (size_t i = 0; i < c->nsysctls; i++) {
    const char *item = c->sysctls[i];
    const char *eq = strchr(item, '=');
    if (!eq || eq == item) fail("sysctl", EINVAL, "%s", item);
    size_t len = (size_t)(eq - item);
    if (len + sizeof "/proc/sys/" >= sizeof path) fail("sysctl", ENAMETOOLONG, "%s", item);
    memcpy(path, "/proc/sys/", 10);
    for (size_t k = 0; k < len; k++) path[10 + k] = item[k] == '.' ? '/' : item[k];
    path[10 + len] = '\0';
    /* No `..` or empty component: the name stays below /proc/sys. */
    if (strstr(path + 9, "/../") || strstr(path + 9, "//") || strstr(path + 9, "/./")) fail("sysctl", EINVAL, "%.*s", (int)len, item);
    if (write_small_file(path, eq + 1) < 0) fail("sysctl", errno, "%.*s", (int)len, item);
  }
}

void apply_oom_score_adj(const struct config *c) {
  if (!c->oom_score_adj) return;
  if (write_small_file("/proc/self/oom_score_adj", c->oom_score_adj) < 0) fail("oom_score_adj", errno, "%s", c->oom_score_adj);
}

void apply_domainname(const struct config *c) {
  if (!c->domainname) return;
  if (setdomainname(c->domainname, strlen(c->domainname)) < 0) fail("domainname", errno, "%s", c->domainname);
}

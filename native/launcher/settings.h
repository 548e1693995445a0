/* What the workload sets on itself before exec, besides its identity: `sysctls` in its own
 * net and IPC namespaces, `ulimits` (setrlimit, inherited across exec), `oom_score_adj` and
 * the UTS domain name. src/runtime/launcher-config.ts sends them; src/spec checks them. */
#ifndef STACK_LAUNCHER_SETTINGS_H
#define STACK_LAUNCHER_SETTINGS_H
#include "launcher/config.h"

/* Writes each `sysctl` NAME=VALUE under /proc/sys as the workload sees it: run once the
 * workload is in its final net and IPC namespaces and before the view replaces /proc.
 * Fails with stage "sysctl" (ENOENT: the kernel has no such setting in a namespace). */
void apply_sysctls(const struct config *c);

/* Writes /proc/self/oom_score_adj when the request has one (before capabilities go). */
void apply_oom_score_adj(const struct config *c);

/* setrlimit for each `rlimit` NAME SOFT HARD (-1: unlimited); stage "rlimit". */
void apply_rlimits(const struct config *c);

/* setdomainname in the workload's UTS namespace when the request has one. */
void apply_domainname(const struct config *c);

/* Whether `value` is a well-formed `rlimit` pair value (NAME SOFT HARD, a known NAME). */
int rlimit_request_ok(const char *value);

#endif

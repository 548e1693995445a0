/* Who a process started inside a service runs as, shared by the launcher (the workload) and
 * the exec helper (healthchecks, `stack exec`), so both follow the same rules, Docker's:
 * the bounding set is the service's capability set for every user; a root process keeps that
 * set permitted and effective, a non-root one has none (no ambient capabilities);
 * inheritable is always empty; no_new_privs is set. Also: finding the program as execvp
 * would, but in the service's PATH and as the service's user. */
#ifndef STACK_COMMON_IDENTITY_H
#define STACK_COMMON_IDENTITY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Drops to uid/gid with `groups`, keeping `caps` (root only), and sets no_new_privs. */
void become(uint64_t caps, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);

/* The search path of a request without one: Docker's default PATH. */
#define DEFAULT_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The path execvp would run for `name` in `search_path` (`buf` holds it when searched);
 * fails with ENOENT or EACCES. */
const char *find_program(const char *name, const char *search_path, char *buf, size_t size);

#endif

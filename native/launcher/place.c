/* See place.h. */
#define _GNU_SOURCE
#include "launcher/place.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/file.h"

/* Writes "`what` `path`" to `out`, cut short with "..." when it does not fit. */
static void say(char *out, size_t size, const char *what, const char *path) {
  if ((size_t)snprintf(out, size, "%s %s", what, path) >= size && size > 4) memcpy(out + size - 4, "...", 4);
}

/* A v1 cpuset group starts with no CPUs and no memory nodes: take the parent's. Nothing where
 * the file is absent (another controller, cgroup v2 without cpuset) or already set, or where the
 * parent has none to give (cgroup v2's root: an empty value there means the parent's). */
static int inherit_cpuset(const char *dir) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char own[PATH_MAX], up[PATH_MAX], parent[PATH_MAX], value[4096];
    if (path_join(own, sizeof own, dir, files[i]) < 0 || path_join(up, sizeof up, dir, "..") < 0 || path_join(parent, sizeof parent, up, files[i]) < 0) return -1;
    if (access(own, F_OK) < 0) continue;
    ssize_t n = read_small_file(own, value, sizeof value);
    if (n > 0 && strspn(value, " \n") != (size_t)n) continue; /* set already */
    n = read_small_file(parent, value, sizeof value);
    if (n <= 0 || strspn(value, " \n") == (size_t)n) continue;
    if (write_small_file(own, value) < 0) return -1;
  }
  return 0;
}

/* Makes `root`/`rel` level by level, each new level's cpuset filled; 0, or -1 with errno. */
static int make_group(const char *root, const char *rel, char *failed, size_t size) {
  char dir[PATH_MAX];
  size_t at = (size_t)snprintf(dir, sizeof dir, "%s", root);
  if (at >= sizeof dir) {
    say(failed, size, "name the monitor group under", root);
    errno = ENAMETOOLONG;
    return -1;
  }
  for (const char *p = rel; *p;) {
    const char *end = strchrnul(p, '/');
    if (at + 1 + (size_t)(end - p) >= sizeof dir) {
      errno = ENAMETOOLONG;
      return -1;
    }
    dir[at++] = '/';
    memcpy(dir + at, p, (size_t)(end - p));
    at += (size_t)(end - p);
    dir[at] = '\0';
    say(failed, size, "mkdir", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
    /* Also when it exists: another launcher may have made it and not filled it yet. */
    say(failed, size, "fill the cpuset of", dir);
    if (inherit_cpuset(dir) < 0) return -1;
    p = *end ? end + 1 : end;
  }
  return 0;
}

/* Whether this process is in `rel` of the cgroup v2 hierarchy mounted at `root` already: its
 * caller spawned it there (src/sys/native-spawn.ts, clone3's CLONE_INTO_CGROUP). A v2 root has
 * cgroup.controllers, a v1 one does not; /proc/self/cgroup's v2 line is `0::/<path>`. Writing
 * cgroup.procs to stay where it is would still wait for an RCU grace period, holding the
 * kernel's cgroup mutex (every other mkdir and move of a cgroup waits with it). */
static int in_v2_group(const char *root, const char *rel) {
  char path[PATH_MAX], own[PATH_MAX + 8];
  if (path_join(path, sizeof path, root, "cgroup.controllers") < 0 || access(path, F_OK) < 0) return 0;
  ssize_t n = read_small_file("/proc/self/cgroup", own, sizeof own);
  if (n <= 0) return 0;
  for (char *line = own; line && *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    if (!strncmp(line, "0::/", 4)) return !strcmp(line + 4, rel);
    line = end ? end + 1 : NULL;
  }
  return 0;
}

/* Moves this process (one thread, as the launcher is: common/cgroup.h) into `root`/`rel`; 0, or
 * -1 with errno and `failed` saying what failed. */
static int join_group(const char *root, const char *rel, char *failed, size_t size) {
  char dir[PATH_MAX], file[PATH_MAX];
  if (path_join(dir, sizeof dir, root, rel) < 0) {
    say(failed, size, "name the monitor group under", root);
    return -1;
  }
  if (in_v2_group(root, rel)) return 0;
  say(failed, size, "join", dir);
  if (cgroup_join(dir, file) == 0) return 0;
  if (errno == EROFS) return 0; /* a hierarchy mounted read-only is not ours to use */
  /* ENOSPC: a cpuset group another launcher has just made and not filled yet. */
  if (errno != ENOENT && errno != ENOSPC) return -1;
  if (make_group(root, rel, failed, size) < 0) return errno == EROFS ? 0 : -1;
  say(failed, size, "join", dir);
  return cgroup_join(dir, file);
}

void place_in_monitor_group(int argc, char **argv, struct placement *out) {
  static const char group_flag[] = "--monitor-group=", hierarchy_flag[] = "--hierarchy=";
  out->err = 0;
  out->detail[0] = '\0';
  const char *rel = NULL;
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], group_flag, sizeof group_flag - 1)) rel = argv[i] + sizeof group_flag - 1;
  if (!rel) return;
  if (!*rel || rel[0] == '/' || strstr(rel, "..")) {
    out->err = EINVAL;
    say(out->detail, sizeof out->detail, "not a relative path: monitor group", rel);
    return;
  }
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], hierarchy_flag, sizeof hierarchy_flag - 1)) continue;
    if (join_group(argv[i] + sizeof hierarchy_flag - 1, rel, out->detail, sizeof out->detail) < 0) {
      out->err = errno;
      return;
    }
  }
}

/* Volume targets, confined to the view: see target.h. */
#define _GNU_SOURCE
#include "launcher/target.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/report.h"
#include "launcher/overlay.h"

/* Refuses the target of volume `v`: the message names the service and the target. */
__attribute__((noreturn, format(printf, 4, 5))) static void refuse_target(const struct config *c, const struct volume *v, int err, const char *why, ...) {
  char reason[600];
  va_list ap;
  va_start(ap, why);
  vsnprintf(reason, sizeof reason, why, ap);
  va_end(ap);
  fail("target", err, "service %s: volume target %s: %s", c->name, v->target, reason);
}

int open_target(const struct config *c, const struct volume *v, int root, int file) {
  const char *p = v->target;
  if (*p != '/') refuse_target(c, v, EINVAL, "not an absolute path");
  char walked[PATH_MAX] = "";
  size_t walked_len = 0;
  int fd = fcntl(root, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) fail("target", errno, "dup the view's root");
  int depth = 0;
  for (;;) {
    p += strspn(p, "/");
    if (!*p) break;
    size_t len = strcspn(p, "/");
    if (len > NAME_MAX) refuse_target(c, v, ENAMETOOLONG, "a component is too long");
    char name[NAME_MAX + 1];
    memcpy(name, p, len);
    name[len] = '\0';
    p += len;
    int last = p[strspn(p, "/")] == '\0';
    if (!strcmp(name, ".") || !strcmp(name, "..")) refuse_target(c, v, EINVAL, "contains `%s` (write the path without it)", name);
    if (depth == 0 && !strncmp(name, ".stack-", 7))
      refuse_target(c, v, EPERM, "/%s is where stack builds the view: nothing can be mounted there", name);
    if (depth++ == 0 && (!strcmp(name, "proc") || !strcmp(name, "sys")))
      refuse_target(c, v, EPERM, "/%s belongs to the kernel: nothing can be mounted there", name);
    walked_len += (size_t)snprintf(walked + walked_len, sizeof walked - walked_len, "/%s", name);
    int next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      int made = last && file ? mknodat(fd, name, S_IFREG | 0644, 0) : mkdirat(fd, name, 0755);
      if (made < 0 && errno == EROFS) {
        /* A read-only folder (the host's): overlay it, then walk again from the root. */
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%.*s", (int)(walked_len - len - 1), walked);
        if (!*parent || overlaid(parent)) refuse_target(c, v, EROFS, "cannot create %s: %s is read-only", walked, parent);
        overlay_folder(parent);
        close(fd);
        return open_target(c, v, root, file);
      }
      if (made < 0 && errno != EEXIST) refuse_target(c, v, errno, "cannot create %s in the view", walked);
      next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) refuse_target(c, v, errno, "cannot open %s in the view", walked);
    struct stat st;
    if (fstatat(next, "", &st, AT_EMPTY_PATH) < 0) refuse_target(c, v, errno, "cannot stat %s", walked);
    if (S_ISLNK(st.st_mode) && last && file) {
      /* A file bound over a symlink (/etc/mysql/my.cnf -> /etc/alternatives/...) covers the
       * symlink itself: the file shows at the path as written, nothing is followed. */
      close(fd);
      return next;
    }
    if (S_ISLNK(st.st_mode)) {
      char link[PATH_MAX];
      ssize_t n = readlinkat(fd, name, link, sizeof link - 1);
      link[n < 0 ? 0 : n] = '\0';
      refuse_target(c, v, ELOOP, "%s is a symlink (-> %s); stack does not follow symlinks in targets, so a volume "
                    "cannot land somewhere else than written: use the real path", walked, link);
    }
    if (!last && !S_ISDIR(st.st_mode)) refuse_target(c, v, ENOTDIR, "%s is not a folder", walked);
    if (last && file == !!S_ISDIR(st.st_mode))
      refuse_target(c, v, file ? EISDIR : ENOTDIR, "%s is a %s, the volume's source is a %s", walked, file ? "folder" : "file", file ? "file" : "folder");
    close(fd);
    fd = next;
  }
  if (depth == 0) refuse_target(c, v, EINVAL, "a volume cannot replace the whole root");
  return fd;
}

/* The workload's view of the filesystem: see filesystem.h. */
#define _GNU_SOURCE
#include "launcher/filesystem.h"

#include <errno.h>
#include <sys/mount.h>

#include "common/report.h"
#include "launcher/mountapi.h"
#include "launcher/view.h"

void setup_filesystem(const struct config *c) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "make / private (MS_REC|MS_PRIVATE)");
  if (c->view) {
    build_view(c);
    return;
  }
  if (make_tree_readonly("/sys/fs/cgroup") < 0 && errno != ENOENT)
    fail("mount", errno, "make /sys/fs/cgroup read-only (mount_setattr AT_RECURSIVE)");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail("mount", errno, "mount proc on /proc");
}

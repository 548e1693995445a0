/* The workload's view of the filesystem, set up inside its fresh mount namespace. Nothing it
 * mounts propagates back to the host (MS_REC|MS_PRIVATE on /). With `view` it gets the built
 * root of launcher/view.h; without it, the host's root with cgroupfs read-only (a root
 * service with default capabilities could otherwise raise its own limits or move itself out
 * of its cgroups: it has no CAP_SYS_ADMIN to remount it) and a /proc of its own pid namespace. */
#pragma once
#include "mountapi.h"
#include "overlay.h"
#include "target.h"
#include "view.h"

static void setup_filesystem(const struct config *c) {
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

/* The workload's view of the filesystem, set up inside its fresh mount namespace.
 * Today: nothing it mounts propagates back to the host (MS_REC|MS_PRIVATE on /), cgroupfs
 * read-only (a root service with default capabilities could otherwise raise its own limits
 * or move itself out of its cgroups: it has no CAP_SYS_ADMIN to remount it), and a /proc of
 * its own pid namespace. The built root of DESIGN.md ("A service's view of the machine":
 * tmpfs root, read-only binds, volumes, pivot_root) slots in where marked, fed by more keys
 * of the launch request. */
#pragma once

/* struct mount_attr of <linux/mount.h>, which clashes with glibc's <sys/mount.h>. */
struct launcher_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define LAUNCHER_MOUNT_ATTR_RDONLY 0x00000001ULL

/* Makes the mount at `path` and every mount below it read-only (mount_setattr, AT_RECURSIVE). */
static int make_tree_readonly(const char *path) {
  struct launcher_mount_attr attr = {.attr_set = LAUNCHER_MOUNT_ATTR_RDONLY};
  return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof attr);
}

static void setup_filesystem(const struct config *c) {
  (void)c;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "make / private (MS_REC|MS_PRIVATE)");
  /* The root view of issue 5 goes here, before the steps below, so they land inside it. */
  if (make_tree_readonly("/sys/fs/cgroup") < 0 && errno != ENOENT)
    fail("mount", errno, "make /sys/fs/cgroup read-only (mount_setattr AT_RECURSIVE)");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail("mount", errno, "mount proc on /proc");
}

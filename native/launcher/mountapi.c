/* The fd-based mount API: see mountapi.h. */
#define _GNU_SOURCE
#include "launcher/mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/report.h"

int set_readonly(int dirfd, const char *path, int recursive, int on) {
  struct launcher_mount_attr attr = {.attr_set = on ? LAUNCHER_MOUNT_ATTR_RDONLY : 0, .attr_clr = on ? 0 : LAUNCHER_MOUNT_ATTR_RDONLY};
  unsigned flags = (recursive ? AT_RECURSIVE : 0) | AT_SYMLINK_NOFOLLOW | (*path ? 0 : AT_EMPTY_PATH);
  return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int set_mount_flags(int tree, uint64_t flags) {
  struct launcher_mount_attr attr = {.attr_set = flags};
  return (int)syscall(SYS_mount_setattr, tree, "", AT_RECURSIVE | AT_EMPTY_PATH, &attr, sizeof attr);
}

int make_tree_readonly(const char *path) {
  return set_readonly(AT_FDCWD, path, 1, 1);
}

int clone_tree(int from) {
  return (int)syscall(SYS_open_tree, from, "", LAUNCHER_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
}

int attach_tree(int tree, int onto) {
  return (int)syscall(SYS_move_mount, tree, "", onto, "", LAUNCHER_MOVE_MOUNT_F_EMPTY_PATH | LAUNCHER_MOVE_MOUNT_T_EMPTY_PATH);
}

int fsconfig_string(int fs, const char *key, const char *value) {
  return (int)syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_SET_STRING, key, value, 0);
}

int new_tmpfs(const char *size, const char *mode, int read_only) {
  int fs = (int)syscall(SYS_fsopen, "tmpfs", 1U /* FSOPEN_CLOEXEC */);
  if (fs < 0) return -1;
  int ok = fsconfig_string(fs, "source", "tmpfs") == 0 && (!size || fsconfig_string(fs, "size", size) == 0) &&
           (!mode || fsconfig_string(fs, "mode", mode) == 0) &&
           syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
  unsigned attrs = LAUNCHER_MOUNT_ATTR_NOSUID | LAUNCHER_MOUNT_ATTR_NODEV | (read_only ? LAUNCHER_MOUNT_ATTR_RDONLY : 0);
  int mnt = ok ? (int)syscall(SYS_fsmount, fs, 1U /* FSMOUNT_CLOEXEC */, attrs) : -1;
  int err = errno;
  close(fs);
  errno = err;
  return mnt;
}

void view_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
  if (mount(source, target, type, flags, data) < 0)
    fail("view", errno, "mount %s on %s (%s%s%s)", source, target, type ? type : "bind", data ? " " : "", data ? data : "");
}

void view_mkdir(const char *path, mode_t mode) {
  if (mkdir(path, mode) < 0 && errno != EEXIST) fail("view", errno, "mkdir %s", path);
}

void view_symlink(const char *to, const char *path) {
  if (symlink(to, path) < 0) fail("view", errno, "symlink %s -> %s", path, to);
}

void view_mkfile(const char *path) {
  if (mknod(path, S_IFREG | 0644, 0) < 0 && errno != EEXIST) fail("view", errno, "create %s", path);
}

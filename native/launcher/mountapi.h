/* The fd-based mount API (Linux 5.2+: open_tree, move_mount, fsopen, fsconfig, fsmount;
 * 5.12+: mount_setattr) through raw syscalls: glibc only wraps it from 2.36 on, and its
 * <linux/mount.h> clashes with <sys/mount.h>. Mounting onto an fd, not a path, is what lets
 * the view confine volume targets (launcher/target.h). */
#pragma once

/* struct mount_attr of <linux/mount.h>. */
struct launcher_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define LAUNCHER_MOUNT_ATTR_RDONLY 0x00000001ULL
#define LAUNCHER_MOUNT_ATTR_NOSUID 0x00000002ULL
#define LAUNCHER_MOUNT_ATTR_NODEV 0x00000004ULL
#define LAUNCHER_OPEN_TREE_CLONE 1U
#define LAUNCHER_MOVE_MOUNT_F_EMPTY_PATH 0x00000004U
#define LAUNCHER_MOVE_MOUNT_T_EMPTY_PATH 0x00000040U
#define LAUNCHER_FSCONFIG_SET_STRING 1U
#define LAUNCHER_FSCONFIG_CMD_CREATE 6U

/* Sets (or clears) read-only on the mount at dirfd/path, and on every mount below it when `recursive`. */
static int set_readonly(int dirfd, const char *path, int recursive, int on) {
  struct launcher_mount_attr attr = {.attr_set = on ? LAUNCHER_MOUNT_ATTR_RDONLY : 0, .attr_clr = on ? 0 : LAUNCHER_MOUNT_ATTR_RDONLY};
  unsigned flags = (recursive ? AT_RECURSIVE : 0) | AT_SYMLINK_NOFOLLOW | (*path ? 0 : AT_EMPTY_PATH);
  return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

/* Makes the mount at `path` and every mount below it read-only (mount_setattr, AT_RECURSIVE). */
static int make_tree_readonly(const char *path) {
  return set_readonly(AT_FDCWD, path, 1, 1);
}

/* A detached copy of the mount tree at fd `from` (an O_PATH fd), submounts included. */
static int clone_tree(int from) {
  return (int)syscall(SYS_open_tree, from, "", LAUNCHER_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
}

/* Attaches the detached mount `tree` on fd `onto` (an O_PATH fd of a file, folder or symlink). */
static int attach_tree(int tree, int onto) {
  return (int)syscall(SYS_move_mount, tree, "", onto, "", LAUNCHER_MOVE_MOUNT_F_EMPTY_PATH | LAUNCHER_MOVE_MOUNT_T_EMPTY_PATH);
}

/* A detached, new tmpfs; `size` and `mode` as mount(8) takes them, or NULL. Returns its fd or -1. */
static int new_tmpfs(const char *size, const char *mode, int read_only) {
  int fs = (int)syscall(SYS_fsopen, "tmpfs", 1U /* FSOPEN_CLOEXEC */);
  if (fs < 0) return -1;
  int ok = syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_SET_STRING, "source", "tmpfs", 0) == 0 &&
           (!size || syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_SET_STRING, "size", size, 0) == 0) &&
           (!mode || syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_SET_STRING, "mode", mode, 0) == 0) &&
           syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
  unsigned attrs = LAUNCHER_MOUNT_ATTR_NOSUID | LAUNCHER_MOUNT_ATTR_NODEV | (read_only ? LAUNCHER_MOUNT_ATTR_RDONLY : 0);
  int mnt = ok ? (int)syscall(SYS_fsmount, fs, 1U /* FSMOUNT_CLOEXEC */, attrs) : -1;
  int err = errno;
  close(fs);
  errno = err;
  return mnt;
}

/* Path-based steps of building the view; each fails the launch with the step it was. */
static void view_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
  if (mount(source, target, type, flags, data) < 0)
    fail("view", errno, "mount %s on %s (%s%s%s)", source, target, type ? type : "bind", data ? " " : "", data ? data : "");
}

static void view_mkdir(const char *path, mode_t mode) {
  if (mkdir(path, mode) < 0 && errno != EEXIST) fail("view", errno, "mkdir %s", path);
}

static void view_symlink(const char *to, const char *path) {
  if (symlink(to, path) < 0) fail("view", errno, "symlink %s -> %s", path, to);
}

/* An empty file to mount a file on. */
static void view_mkfile(const char *path) {
  if (mknod(path, S_IFREG | 0644, 0) < 0 && errno != EEXIST) fail("view", errno, "create %s", path);
}

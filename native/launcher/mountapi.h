/* The fd-based mount API (Linux 5.2+: open_tree, move_mount, fsopen, fsconfig, fsmount;
 * 5.12+: mount_setattr) through raw syscalls: glibc only wraps it from 2.36 on, and its
 * <linux/mount.h> clashes with <sys/mount.h>. Mounting onto an fd, not a path, is what lets
 * the view confine volume targets (launcher/target.h). */
#ifndef STACK_LAUNCHER_MOUNTAPI_H
#define STACK_LAUNCHER_MOUNTAPI_H
#include <stdint.h>
#include <sys/types.h>

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
int set_readonly(int dirfd, const char *path, int recursive, int on);

/* Sets `flags` (LAUNCHER_MOUNT_ATTR_*) on the detached or attached tree `tree` (an fd), submounts included. */
int set_mount_flags(int tree, uint64_t flags);
/* Makes the mount at `path` and every mount below it read-only (mount_setattr, AT_RECURSIVE). */
int make_tree_readonly(const char *path);

/* A detached copy of the mount tree at fd `from` (an O_PATH fd), submounts included. */
int clone_tree(int from);

/* Attaches the detached mount `tree` on fd `onto` (an O_PATH fd of a file, folder or symlink). */
int attach_tree(int tree, int onto);

/* Sets the string option `key` of the filesystem context `fs` (fsconfig FSCONFIG_SET_STRING); -1 with errno on failure. */
int fsconfig_string(int fs, const char *key, const char *value);

/* A detached, new tmpfs; `size` and `mode` as mount(8) takes them, or NULL. Returns its fd or -1. */
int new_tmpfs(const char *size, const char *mode, int read_only);

/* Path-based steps of building the view; each fails the launch with the step it was. */
void view_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data);
void view_mkdir(const char *path, mode_t mode);
void view_symlink(const char *to, const char *path);

/* An empty file to mount a file on. */
void view_mkfile(const char *path);

#endif

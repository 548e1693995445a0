/* An image service's root: see image.h. */
#define _GNU_SOURCE
#include "launcher/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/report.h"
#include "launcher/mountapi.h"
#include "launcher/overlay.h"

#define POINTS "/tmp/.stack-points" /* the mount point layer, top of the lower layers */
#define FD_PATH_MAX 32

/* An O_PATH fd of the folder `path`, opened by the host's own resolution. */
static int open_folder(const struct config *c, const char *path, const char *what) {
  if (path[0] != '/') fail("image", EINVAL, "service %s: %s %s is not an absolute path", c->name, what, path);
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("image", errno, "service %s: %s %s", c->name, what, path);
  return fd;
}

/* The mount point layer: folders the view mounts on, the /etc files it binds over, its staging folders. */
static void make_points(const struct config *c, const char *host_root) {
  static const char *const dirs[] = {"/dev", "/proc", "/sys", NULL};
  char path[PATH_MAX];
  view_mkdir(POINTS, 0755);
  for (const char *const *d = dirs; *d; d++) {
    snprintf(path, sizeof path, POINTS "%s", *d);
    view_mkdir(path, 0755);
  }
  snprintf(path, sizeof path, POINTS "%s", host_root);
  view_mkdir(path, 0700);
  for (int i = 0; i < ETC_FILES; i++) {
    if (!etc_file_path(c, i)) continue; /* else the image's own file shows */
    view_mkdir(POINTS "/etc", 0755);
    snprintf(path, sizeof path, POINTS "/etc/%s", etc_file_names[i]);
    view_mkfile(path);
  }
}

/* A new overlay context with the lower layers by `lowerdir+`, one a call (Linux 6.8+); -1 with
 * errno EINVAL when the kernel does not know the key. `lowers` is top first. */
static int context_lowerdir_plus(char lowers[][FD_PATH_MAX], size_t n) {
  int fs = (int)syscall(SYS_fsopen, "overlay", 1U /* FSOPEN_CLOEXEC */);
  if (fs < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (fsconfig_string(fs, "lowerdir+", lowers[i]) < 0) {
      int err = errno;
      close(fs);
      errno = err;
      return -1;
    }
  }
  return fs;
}

/* The same with one `lowerdir=a:b:c` string (short /proc/self/fd names keep it within a page). */
static int context_lowerdir_string(char lowers[][FD_PATH_MAX], size_t n) {
  char *joined = calloc(n, FD_PATH_MAX + 1);
  if (!joined) return errno = ENOMEM, -1;
  for (size_t i = 0; i < n; i++) {
    if (i) strcat(joined, ":");
    strcat(joined, lowers[i]);
  }
  int fs = (int)syscall(SYS_fsopen, "overlay", 1U /* FSOPEN_CLOEXEC */);
  int ok = fs >= 0 && fsconfig_string(fs, "lowerdir", joined) == 0;
  int err = errno;
  free(joined);
  if (!ok && fs >= 0) close(fs);
  errno = err;
  return ok ? fs : -1;
}

void mount_image_root(const struct config *c, const char *host_root) {
  size_t n = c->nimage_layers + 1; /* the mount point layer on top */
  int *fds = calloc(n + 2, sizeof *fds);
  char (*lowers)[FD_PATH_MAX] = calloc(n, sizeof *lowers);
  if (!fds || !lowers) fail("image", ENOMEM, "service %s: %zu layers", c->name, c->nimage_layers);
  /* Opened before the tmpfs covers /tmp: the layers and the upper may well be there. */
  for (size_t i = 0; i < c->nimage_layers; i++) fds[i] = open_folder(c, c->image_layers[i], "image layer");
  int upper = c->image_upper ? open_folder(c, c->image_upper, "upper folder") : -1;
  int work = c->image_work ? open_folder(c, c->image_work, "work folder") : -1;

  view_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m");
  make_points(c, host_root);
  snprintf(lowers[0], FD_PATH_MAX, "%s", POINTS);
  for (size_t i = 0; i < c->nimage_layers; i++) /* the request lists the lowest first; overlayfs wants the top first */
    snprintf(lowers[c->nimage_layers - i], FD_PATH_MAX, "/proc/self/fd/%d", fds[i]);

  int fs = context_lowerdir_plus(lowers, n);
  if (fs < 0 && errno == EINVAL) fs = context_lowerdir_string(lowers, n);
  if (fs < 0) fail("image", errno, "service %s: give overlayfs the image's %zu layers (lowest %s)", c->name, c->nimage_layers, c->image_layers[0]);
  char up[FD_PATH_MAX], wk[FD_PATH_MAX];
  if (upper >= 0) {
    snprintf(up, sizeof up, "/proc/self/fd/%d", upper);
    snprintf(wk, sizeof wk, "/proc/self/fd/%d", work);
    if (fsconfig_string(fs, "upperdir", up) < 0 || fsconfig_string(fs, "workdir", wk) < 0)
      fail("image", errno, "service %s: overlay upper %s, work %s", c->name, c->image_upper, c->image_work);
    /* The upper stays plain files, folders and whiteouts, whatever the kernel's defaults: a build
     * takes a RUN step's upper as its layer (src/build), which a redirect or metacopy xattr would
     * break. A kernel without these options refuses them; the mount goes on without. */
    (void)fsconfig_string(fs, "redirect_dir", "off");
    (void)fsconfig_string(fs, "metacopy", "off");
  }
  if (syscall(SYS_fsconfig, fs, LAUNCHER_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    fail("image", errno, "service %s: mount the image's overlay (%zu layers, lowest %s%s%s)", c->name, c->nimage_layers,
         c->image_layers[0], upper >= 0 ? ", upper " : ", no upper", upper >= 0 ? c->image_upper : "");
  unsigned attrs = LAUNCHER_MOUNT_ATTR_NOSUID | LAUNCHER_MOUNT_ATTR_NODEV | (upper < 0 ? LAUNCHER_MOUNT_ATTR_RDONLY : 0);
  int mnt = (int)syscall(SYS_fsmount, fs, 1U /* FSMOUNT_CLOEXEC */, attrs);
  if (mnt < 0) fail("image", errno, "service %s: fsmount the image's overlay", c->name);
  close(fs);

  view_mkdir(IMAGE_ROOT, 0755);
  int onto = open(IMAGE_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (onto < 0 || attach_tree(mnt, onto) < 0) fail("image", errno, "service %s: attach the image's overlay", c->name);
  close(onto);
  close(mnt);
  for (size_t i = 0; i < c->nimage_layers; i++) close(fds[i]);
  if (upper >= 0) close(upper);
  if (work >= 0) close(work);
  free(fds);
  free(lowers);
}

/* Volume targets inside read-only folders: see overlay.h. */
#define _GNU_SOURCE
#include "launcher/overlay.h"

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

#define MAX_OVERLAYS 32

static int overlay_roots[MAX_OVERLAYS]; /* O_PATH fds of the overlays, to seal exactly them */
static char *overlay_dirs[MAX_OVERLAYS];
static int noverlays;

int overlaid(const char *dir) {
  for (int i = 0; i < noverlays; i++)
    if (!strcmp(overlay_dirs[i], dir)) return 1;
  return 0;
}

/* The mount points strictly below `dir` that are not below another one of them. */
static size_t mounts_below(const char *dir, char **out, size_t max) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) fail("view", errno, "read /proc/self/mountinfo");
  size_t n = 0, len = strlen(dir);
  char line[4 * PATH_MAX], point[PATH_MAX];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1) continue;
    if (strncmp(point, dir, len) || point[len] != '/') continue;
    if (strchr(point, '\\')) fail("view", ENOTSUP, "a mount below %s has an escaped name: %s", dir, point);
    int known = 0;
    for (size_t i = 0; i < n && !known; i++) {
      size_t l = strlen(out[i]);
      known = !strcmp(out[i], point) || (!strncmp(out[i], point, l) && point[l] == '/');
    }
    if (known) continue;
    if (n == max) fail("view", E2BIG, "too many mounts below %s", dir);
    out[n] = strdup(point);
    if (!out[n++]) fail("view", ENOMEM, "mounts below %s", dir);
  }
  fclose(f);
  return n;
}

void overlay_folder(const char *dir) {
  if (noverlays == MAX_OVERLAYS) fail("view", E2BIG, "more than %d folders to overlay for volume targets", MAX_OVERLAYS);
  if (strpbrk(dir, ",:\\")) fail("view", EINVAL, "cannot overlay %s (a comma, colon or backslash in its path)", dir);
  if (noverlays == 0) {
    view_mkdir(UPPER_ROOT, 0700);
    view_mount("tmpfs", UPPER_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700,size=16m");
  }
  char layer[64], upper[80], work[80], options[3 * PATH_MAX];
  snprintf(layer, sizeof layer, UPPER_ROOT "/%d", noverlays);
  snprintf(upper, sizeof upper, "%s/upper", layer);
  snprintf(work, sizeof work, "%s/work", layer);
  view_mkdir(layer, 0700);
  view_mkdir(upper, 0755);
  view_mkdir(work, 0700);
  struct stat st;
  if (stat(dir, &st) < 0) fail("view", errno, "stat %s", dir);
  if (chmod(upper, st.st_mode & 07777) < 0 || chown(upper, st.st_uid, st.st_gid) < 0) fail("view", errno, "give %s the mode and owner of %s", upper, dir);

  char *below[64];
  size_t nbelow = mounts_below(dir, below, 64);
  int trees[64];
  for (size_t i = 0; i < nbelow; i++) {
    trees[i] = (int)syscall(SYS_open_tree, AT_FDCWD, below[i], LAUNCHER_OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    if (trees[i] < 0) fail("view", errno, "copy the mount at %s", below[i]);
  }
  snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work);
  view_mount("overlay", dir, "overlay", MS_NOSUID | MS_NODEV, options);
  for (size_t i = 0; i < nbelow; i++) {
    if (mkdir(below[i], 0755) < 0 && errno != EEXIST) fail("view", errno, "mkdir %s in the overlay of %s", below[i], dir);
    if (syscall(SYS_move_mount, trees[i], "", AT_FDCWD, below[i], LAUNCHER_MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail("view", errno, "put the mount at %s back over the overlay of %s", below[i], dir);
    close(trees[i]);
    free(below[i]);
  }
  overlay_roots[noverlays] = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  overlay_dirs[noverlays] = strdup(dir);
  if (overlay_roots[noverlays] < 0 || !overlay_dirs[noverlays]) fail("view", errno, "open the overlay of %s", dir);
  noverlays++;
}

void seal_overlays(void) {
  for (int i = 0; i < noverlays; i++) {
    if (set_readonly(overlay_roots[i], "", 0, 1) < 0) fail("view", errno, "make the overlay of %s read-only", overlay_dirs[i]);
    close(overlay_roots[i]);
  }
  if (noverlays && (umount2(UPPER_ROOT, MNT_DETACH) < 0 || rmdir(UPPER_ROOT) < 0)) fail("view", errno, "remove " UPPER_ROOT);
}

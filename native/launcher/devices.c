/* Device nodes of the view: see devices.h. */
#define _GNU_SOURCE
#include "launcher/devices.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/report.h"
#include "launcher/mountapi.h"

/* Makes every missing folder above `path` (below /dev), mode 0755. */
static void make_parents(const char *path) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) fail("view", ENAMETOOLONG, "device %s", path);
  for (char *slash = strchr(dir + strlen("/dev/"), '/'); slash; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    struct stat st;
    if (lstat(dir, &st) < 0) view_mkdir(dir, 0755);
    else if (!S_ISDIR(st.st_mode)) fail("view", ENOTDIR, "device %s: %s is not a folder", path, dir);
    *slash = '/';
  }
}

void bind_devices(const struct config *c, const char *host_root) {
  for (size_t i = 0; i < c->ndevices; i++) {
    const struct device *d = &c->devices[i];
    if (strncmp(d->target, "/dev/", 5) != 0 || strstr(d->target, "/../") || strstr(d->target, "/./"))
      fail("view", EINVAL, "device target %s is not a name under /dev", d->target);
    char from[PATH_MAX];
    if (snprintf(from, sizeof from, "%s%s", host_root, d->source) >= (int)sizeof from) fail("view", ENAMETOOLONG, "device %s", d->source);
    struct stat st;
    if (stat(from, &st) < 0) fail("view", errno, "device %s", d->source);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) fail("view", ENODEV, "device %s is not a device node", d->source);
    make_parents(d->target);
    struct stat there;
    if (lstat(d->target, &there) == 0) {
      /* A node the view already made (a privileged service's list holds none), or a repeat. */
      if (!S_ISREG(there.st_mode)) fail("view", EEXIST, "device target %s exists", d->target);
    } else {
      view_mkfile(d->target);
    }
    view_mount(from, d->target, NULL, MS_BIND, NULL);
  }
}

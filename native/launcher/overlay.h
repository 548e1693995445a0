/* Volume targets inside read-only folders. `pgdata:/var/lib/postgresql/data` must work on a
 * host where /var/lib/postgresql/data does not exist, yet the view's /var is the host's,
 * read-only, and the host is never modified. So the folder that lacks the mount point is
 * overlaid (overlayfs: the folder as the lower layer, a tmpfs as the upper): its content stays
 * visible, the mount point is made in the tmpfs, and once every volume is mounted the overlay
 * is made read-only again (seal_overlays). Mounts below the folder (the view's /var/tmp, an
 * earlier volume) are carried over on top of the overlay. */
#ifndef STACK_LAUNCHER_OVERLAY_H
#define STACK_LAUNCHER_OVERLAY_H

#define UPPER_ROOT "/.stack-upper" /* the tmpfs holding the upper layers while the view is built */

/* Whether `dir` was already overlaid (a second EROFS there is a real read-only mount). */
int overlaid(const char *dir);

/* Overlays the read-only folder `dir` with a writable tmpfs layer (see the top of this file). */
void overlay_folder(const char *dir);

/* Makes every overlay read-only again and lets go of the upper layers' staging mount. */
void seal_overlays(void);

#endif

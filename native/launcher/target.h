/* Volume targets, confined to the view: a target is walked one component at a time from the
 * view's root with O_NOFOLLOW, so no symlink can carry it elsewhere (a project folder's
 * `data -> /etc` would otherwise put a volume over the view's /etc); `.`/`..`, a relative
 * target and one in /proc or /sys are refused. Missing components are created in the view,
 * never on the host: where the folder is the host's (a read-only bind), it is overlaid first
 * (launcher/overlay.h). The mount then goes onto the
 * opened fd (move_mount), not onto a path that could change in between. A file may cover a
 * symlink as the last component (the mount is on the symlink, which is not followed). */
#ifndef STACK_LAUNCHER_TARGET_H
#define STACK_LAUNCHER_TARGET_H

#include "launcher/config.h"

/* Opens the target of `v` inside the view whose root is `root`, creating what is missing:
 * folders, and a file as the last component when `file` (a bind of a file). Returns an O_PATH fd. */
int open_target(const struct config *c, const struct volume *v, int root, int file);

#endif

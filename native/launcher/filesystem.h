/* The workload's view of the filesystem, set up inside its fresh mount namespace. Nothing it
 * mounts propagates back to the host (MS_REC|MS_PRIVATE on /). With `view` it gets the built
 * root of launcher/view.h; without it, the host's root with cgroupfs read-only (a root
 * service with default capabilities could otherwise raise its own limits or move itself out
 * of its cgroups: it has no CAP_SYS_ADMIN to remount it) and a /proc of its own pid namespace. */
#ifndef STACK_LAUNCHER_FILESYSTEM_H
#define STACK_LAUNCHER_FILESYSTEM_H

#include "launcher/config.h"

/* Sets up the workload's filesystem (the built view, or the host's root as above). */
void setup_filesystem(const struct config *c);

#endif

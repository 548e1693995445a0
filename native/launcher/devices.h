/* The service's device nodes beyond the view's own few: each `devices:` entry (every host
 * device for a privileged service), bound from the host's node onto an empty file in the
 * view's /dev, so the node works although /dev is nodev; the device cgroup (v1) or eBPF
 * program (v2) that stack set for the service decides what may be opened. */
#ifndef STACK_LAUNCHER_DEVICES_H
#define STACK_LAUNCHER_DEVICES_H
#include "launcher/config.h"

/* Binds each of c->devices; `host_root` is where the host's root sits while the view is built.
 * Fails the launch ("view") when a source is not a device node or a target leaves /dev. */
void bind_devices(const struct config *c, const char *host_root);

#endif

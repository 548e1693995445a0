/* The service's own root (docs/architecture.md "A service's view of the machine"), built in its fresh,
 * private mount namespace before exec:
 *   /            a new tmpfs (read-only with `read_only: true`)
 *                or, for an image service (`image_layer`), its overlayfs root (launcher/image.h):
 *                then no host folder, no private /tmp /run /var/tmp and no hidden paths
 *   every top-level folder of the host but the ones below (/usr, /etc, /var, /home, /opt,
 *                /srv, /root, /mnt, /nix...): recursive read-only binds, submounts included
 *                (mount_setattr AT_RECURSIVE); top-level symlinks (/bin -> usr/bin) recreated
 *   /dev         a tmpfs with null, zero, full, random, urandom and tty bound from the host,
 *                its own devpts (ptmx), /dev/shm, /dev/mqueue and the /dev/fd links
 *   /sys         the host's, read-only with its submounts (so cgroupfs cannot be written)
 *   /proc        a new proc of its pid namespace; sys, sysrq-trigger, irq, bus and fs
 *                read-only, Docker's masked paths masked
 *   /tmp /run /var/tmp   private writable tmpfs, sized (1g, 64m, 1g)
 *   hidden       the paths the request names (credentials, the state roots: src/runtime/hidden.ts)
 *                under an empty read-only tmpfs (a folder) or /dev/null (a file)
 *   /etc/hosts, /etc/hostname, /etc/resolv.conf   the service's own files, bound read-only over
 *                the host's, even where the host's is a symlink (a write would grow a host file)
 *   volumes      in order, onto confined targets (launcher/target.h); bind sources opened
 *                without a symlink below the folder the request names (`mount_beneath`)
 * Every writable mount made here is nosuid and nodev (a bind of a source under /dev keeps dev);
 * the host's root is made read-only, in this namespace, before anything is built from it.
 * /boot-like folders are not special: the view mirrors every folder, read-only, so a program
 * installed anywhere on the host runs. As in Docker, `read_only` leaves /dev, the /etc name
 * files and the volumes as they are. /sys is the host's (its /sys/class/net too: a fresh
 * sysfs would lack the cgroup mounts that runtimes read their limits from). The host's root
 * sits at HOST_ROOT while this is built
 * (a tmpfs over this namespace's /tmp is the new root, pivot_root puts the old one inside),
 * and is detached before exec. */
#ifndef STACK_LAUNCHER_VIEW_H
#define STACK_LAUNCHER_VIEW_H

#include "launcher/config.h"

/* Builds the view and makes it this process's root (see the top of this file). */
void build_view(const struct config *c);

#endif

/* An image service's root (issue 10): an overlayfs of the image's unpacked layers, read-only
 * below, with the service's own writable upper on top, or none (`read_only: true`: the root
 * is then read-only). Only the image is visible: no host folder is bound in, and the image keeps
 * its own /run, /tmp and /var/tmp (in the upper). Above the image's layers sits one small
 * tmpfs layer of mount points (/dev, /proc, /sys, /etc/hosts... and the view's staging
 * folders), so that building the view writes nothing in the upper and needs no upper at all.
 * Layers are handed to overlayfs as /proc/self/fd/N links of folders opened beforehand: short
 * names, so a lowerdir= string of many layers fits the mount option page where the kernel
 * refuses `lowerdir+` (before 6.8). */
#ifndef STACK_LAUNCHER_IMAGE_H
#define STACK_LAUNCHER_IMAGE_H

#include "launcher/config.h"

/* Where mount_image_root attaches the image's root, for the view to pivot into. */
#define IMAGE_ROOT "/tmp/.stack-image"

/* Mounts a tmpfs on /tmp (the launcher's private namespace) holding the mount point layer,
 * then the service's overlay at IMAGE_ROOT, nosuid and nodev; `host_root` is the folder the
 * host's root is put in by the pivot (made in the mount point layer). Fails the launch with
 * the layer or folder at fault. */
void mount_image_root(const struct config *c, const char *host_root);

#endif

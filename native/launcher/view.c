/* The service's own root: see view.h. */
#define _GNU_SOURCE
#include "launcher/view.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/report.h"
#include "launcher/devices.h"
#include "launcher/image.h"
#include "launcher/mountapi.h"
#include "launcher/overlay.h"
#include "launcher/target.h"

#define HOST_ROOT "/.stack-host"
#define ROOT_SIZE "64m"    /* the view's own root: mount points, and what a service writes at / */
#define SCRATCH_SIZE "1g"  /* /tmp, /var/tmp, and a tmpfs volume without a size */
#define RUN_SIZE "64m"     /* /run */

/* Host top-level entries the view makes itself; lost+found is fsck's, of no use to a service;
 * the last two would cover the view's own staging folders. */
static int built_by_view(const char *name) {
  static const char *const built[] = {"proc", "sys", "dev", "tmp", "run", "lost+found", HOST_ROOT + 1, UPPER_ROOT + 1, NULL};
  for (const char *const *b = built; *b; b++)
    if (!strcmp(name, *b)) return 1;
  return 0;
}

/* The host's `path` (found under HOST_ROOT), bound at the same place in the view, read-only with every submount. */
static void bind_host_readonly(const char *path) {
  char from[PATH_MAX + sizeof HOST_ROOT];
  snprintf(from, sizeof from, HOST_ROOT "%s", path);
  view_mkdir(path, 0755);
  view_mount(from, path, NULL, MS_BIND | MS_REC, NULL);
  if (make_tree_readonly(path) < 0) fail("view", errno, "make %s read-only (mount_setattr AT_RECURSIVE)", path);
}

static void mirror_host_root(void) {
  DIR *dir = opendir(HOST_ROOT);
  if (!dir) fail("view", errno, "list the host's root");
  for (struct dirent *e; (e = readdir(dir));) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    if (built_by_view(e->d_name)) continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/%s", e->d_name);
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) fail("view", errno, "stat the host's %s", path);
    if (S_ISDIR(st.st_mode)) {
      bind_host_readonly(path);
    } else if (S_ISLNK(st.st_mode)) {
      char to[PATH_MAX];
      ssize_t n = readlinkat(dirfd(dir), e->d_name, to, sizeof to - 1);
      if (n < 0) fail("view", errno, "readlink the host's %s", path);
      to[n] = '\0';
      view_symlink(to, path);
    } /* files at the top (.dockerenv...) are left out */
  }
  closedir(dir);
}

/* `ipc: service:NAME` or `ipc: host`: that service's /dev/shm, or the host's, shared along with the
 * IPC namespace as Docker shares it. A mount of another mount namespace cannot be copied from
 * here (open_tree: EINVAL), so the copy is made inside that namespace, which is then left
 * (setns resets root and cwd: this runs before the view is built). -1: a tmpfs of its own. */
static int shared_shm = -1;

static void copy_shared_shm(const struct config *c) {
  if (!c->shm_from) return;
  int self = -1, other = -1;
  if (strcmp(c->shm_from, "host")) {
    self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    other = open(c->shm_from, O_RDONLY | O_CLOEXEC);
    if (self < 0 || other < 0) fail("shm", errno, "open the mount namespace %s", c->shm_from);
    if (setns(other, CLONE_NEWNS) < 0) fail("shm", errno, "enter the mount namespace %s", c->shm_from);
  }
  int fd = open("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int saved = errno;
  shared_shm = fd < 0 ? -1 : clone_tree(fd);
  if (fd >= 0) saved = errno, close(fd);
  if (self >= 0 && setns(self, CLONE_NEWNS) < 0) fail("shm", errno, "return to the service's mount namespace");
  if (shared_shm < 0) fail("shm", saved, "copy /dev/shm of %s", c->shm_from);
  if (set_mount_flags(shared_shm, LAUNCHER_MOUNT_ATTR_NOSUID | LAUNCHER_MOUNT_ATTR_NODEV) < 0) fail("shm", errno, "make the shared /dev/shm nosuid, nodev");
  if (self >= 0) close(self), close(other);
}

static void build_dev(const struct config *c) {
  view_mkdir("/dev", 0755);
  view_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k");
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
  for (const char *const *n = nodes; *n; n++) {
    char from[64], to[64];
    snprintf(from, sizeof from, HOST_ROOT "/dev/%s", *n);
    snprintf(to, sizeof to, "/dev/%s", *n);
    view_mkfile(to);
    view_mount(from, to, NULL, MS_BIND, NULL);
  }
  view_mkdir("/dev/pts", 0755);
  view_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  view_symlink("pts/ptmx", "/dev/ptmx");
  view_mkdir("/dev/shm", 01777);
  char shm[64];
  snprintf(shm, sizeof shm, "mode=1777,size=%s", c->shm_size ? c->shm_size : "65536k");
  if (shared_shm >= 0) {
    int onto = open("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (onto < 0 || attach_tree(shared_shm, onto) < 0) fail("view", errno, "mount the shared /dev/shm");
    close(onto);
    close(shared_shm);
  } else
    view_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm);
  view_mkdir("/dev/mqueue", 01777);
  view_mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  view_symlink("/proc/self/fd", "/dev/fd");
  view_symlink("/proc/self/fd/0", "/dev/stdin");
  view_symlink("/proc/self/fd/1", "/dev/stdout");
  view_symlink("/proc/self/fd/2", "/dev/stderr");
}

/* Hides `path` as Docker does: /dev/null over a file, an empty read-only tmpfs over a folder. */
static void mask(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return; /* not on this kernel */
  if (S_ISDIR(st.st_mode)) view_mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
  else view_mount("/dev/null", path, NULL, MS_BIND, NULL);
}

/* The host's sysfs lists the host's network links: its net folders show the network namespace
 * of whoever mounted it. A sysfs mounted here, in the service's own (this runs after
 * enter_netns), lists the service's links (lo, eth0...): its class/net and devices/virtual/net
 * are bound over the host's, read-only, as a container's fresh sysfs shows them (the host's
 * physical devices stay visible under /sys/devices, as the rest of the host's sysfs). Staged
 * under the view's /dev, which is the view's own tmpfs, and taken away again. Where the kernel
 * refuses this sysfs (EPERM, EACCES: a namespace this launcher may not mount in), the host's
 * folders stay, as before. */
static void own_net_in_sys(void) {
  static const char staging[] = "/dev/.stack-sysfs";
  view_mkdir(staging, 0500);
  if (mount("sysfs", staging, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    if (errno != EPERM && errno != EACCES) fail("view", errno, "mount sysfs on %s", staging);
    if (rmdir(staging) < 0) fail("view", errno, "rmdir %s", staging);
    return;
  }
  static const char *const dirs[] = {"class/net", "devices/virtual/net", NULL};
  for (const char *const *d = dirs; *d; d++) {
    char from[PATH_MAX], to[PATH_MAX];
    snprintf(from, sizeof from, "%s/%s", staging, *d);
    snprintf(to, sizeof to, "/sys/%s", *d);
    struct stat st;
    if (lstat(from, &st) < 0 || lstat(to, &st) < 0) continue; /* a kernel without it */
    view_mount(from, to, NULL, MS_BIND, NULL); /* read-only as the sysfs it comes from */
  }
  if (umount2(staging, MNT_DETACH) < 0) fail("view", errno, "detach the staged sysfs");
  if (rmdir(staging) < 0) fail("view", errno, "rmdir %s", staging);
}

static void build_sys_and_proc(void) {
  bind_host_readonly("/sys");
  own_net_in_sys();
  /* Docker's masks, and the kernel's debug filesystems a recursive bind brings along (Docker's
   * fresh sysfs has none): debugfs, tracefs, securityfs, bpffs, pstore (crash logs), configfs. */
  static const char *const sys_masked[] = {"/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/debug",
                                           "/sys/kernel/tracing", "/sys/kernel/security", "/sys/fs/bpf",
                                           "/sys/fs/pstore", "/sys/kernel/config", NULL};
  for (const char *const *p = sys_masked; *p; p++) mask(*p);
  view_mkdir("/proc", 0555);
  view_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
  for (const char *const *p = readonly; *p; p++) {
    struct stat st;
    if (lstat(*p, &st) < 0) continue;
    view_mount(*p, *p, NULL, MS_BIND | MS_REC, NULL);
    if (make_tree_readonly(*p) < 0) fail("view", errno, "make %s read-only", *p);
  }
  static const char *const masked[] = {"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                                       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                       "/proc/sched_debug", "/proc/scsi", NULL};
  for (const char *const *p = masked; *p; p++) mask(*p);
}

/* The private scratch folders, each with a size (a `tmpfs:` volume on the same target replaces it). */
static void build_scratch(void) {
  view_mkdir("/tmp", 01777);
  view_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=" SCRATCH_SIZE);
  view_mkdir("/run", 0755);
  view_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=" RUN_SIZE);
  struct stat st;
  if (lstat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode)) view_mount("tmpfs", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=" SCRATCH_SIZE);
}

/* Hides the paths the request names (credentials, other projects' volumes: src/runtime/hidden.ts)
 * as `mask` does; a symlink is left (Node sends its target too), a missing path skipped. */
static void hide_paths(const struct config *c) {
  for (size_t i = 0; i < c->nhide; i++) {
    const char *path = c->hide[i];
    struct stat st;
    if (path[0] != '/' || lstat(path, &st) < 0 || S_ISLNK(st.st_mode)) continue;
    mask(path);
  }
}

/* Opens a host path by the host's own resolution, before the view hides the host. */
static int open_host_path(const char *stage, const struct config *c, const char *path, const char *what) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) fail(stage, errno, "service %s: %s %s", c->name, what, path);
  return fd;
}

/* Opens the source of bind `v`: below `beneath` (a folder a service may write in), no symlink is
 * followed (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), so a folder swapped for a link to /
 * is refused with its path; above it, the host's own resolution. */
static int open_source(const struct config *c, const struct volume *v) {
  if (!v->beneath) return open_host_path("source", c, v->source, "volume source");
  size_t n = strlen(v->beneath);
  while (n > 1 && v->beneath[n - 1] == '/') n--;
  if (strncmp(v->source, v->beneath, n) || (v->source[n] != '/' && n > 1))
    fail("source", EINVAL, "service %s: volume source %s is not below %s", c->name, v->source, v->beneath);
  const char *rest = v->source + n;
  while (*rest == '/') rest++;
  int base = open(v->beneath, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) fail("source", errno, "service %s: volume source %s (its folder %s)", c->name, v->source, v->beneath);
  if (!*rest) return base;
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, base, rest, &how, sizeof how);
  int err = errno;
  close(base);
  if (fd < 0 && err == ELOOP)
    fail("source", ELOOP, "service %s: volume source %s goes through a symlink below %s (a service could have made it): "
         "name the real path", c->name, v->source, v->beneath);
  if (fd < 0) fail("source", err, "service %s: volume source %s", c->name, v->source);
  return fd;
}

/* The mount tree of bind `v`, copied from its opened source: nosuid and nodev (but for a
 * source under /dev, a device asked for by name), read-only when asked. */
static int bind_tree(const struct config *c, const struct volume *v, int source) {
  int tree = clone_tree(source);
  if (tree < 0) fail("volume", errno, "service %s: bind %s (for %s)", c->name, v->source, v->target);
  uint64_t flags = LAUNCHER_MOUNT_ATTR_NOSUID | (v->read_only ? LAUNCHER_MOUNT_ATTR_RDONLY : 0);
  if (strcmp(v->source, "/dev") && strncmp(v->source, "/dev/", 5)) flags |= LAUNCHER_MOUNT_ATTR_NODEV;
  if (set_mount_flags(tree, flags) < 0) fail("volume", errno, "service %s: make the bind of %s nosuid, nodev%s", c->name, v->source, v->read_only ? ", read-only" : "");
  return tree;
}

/* Binds the host file copied as `tree` over /etc/<name> of the view, on the entry itself (a symlink too). */
static void bind_etc_file(int tree, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/etc/%s", name);
  int onto = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (onto < 0 && errno == ENOENT) { /* a host without it: made in an overlay of /etc */
    if (!overlaid("/etc")) overlay_folder("/etc");
    view_mkfile(path);
    onto = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (onto < 0) fail("view", errno, "open %s to put the service's own over it", path);
  if (attach_tree(tree, onto) < 0) fail("view", errno, "mount the service's %s", path);
  close(onto);
}

static void mount_volumes(const struct config *c, const int *sources, int root) {
  for (size_t i = 0; i < c->nvolumes; i++) {
    const struct volume *v = &c->volumes[i];
    int tree, file = 0;
    if (!strcmp(v->type, "bind")) {
      struct stat st;
      if (fstat(sources[i], &st) < 0) fail("volume", errno, "stat %s", v->source);
      file = !S_ISDIR(st.st_mode);
      tree = sources[i]; /* copied before the host's root was made read-only (build_view) */
    } else {
      tree = new_tmpfs(v->size ? v->size : SCRATCH_SIZE, v->mode, v->read_only); /* never the kernel's default (half of RAM) */
      if (tree < 0) fail("volume", errno, "service %s: tmpfs for %s (size %s, mode %s)", c->name, v->target, v->size ? v->size : "-", v->mode ? v->mode : "-");
    }
    int onto = open_target(c, v, root, file);
    if (attach_tree(tree, onto) < 0) fail("volume", errno, "service %s: mount %s on %s", c->name, v->source ? v->source : "tmpfs", v->target);
    close(onto);
    if (tree != sources[i]) close(tree);
  }
}

void build_view(const struct config *c) {
  copy_shared_shm(c); /* first: it leaves this namespace for a moment */
  int *sources = calloc(c->nvolumes + 1, sizeof *sources);
  if (!sources) fail("view", ENOMEM, "volumes");
  /* Every host file the view takes in is opened and its mount copied now, with its own flags:
   * the host's root is then made read-only, so nothing reached through it can write the host. */
  for (size_t i = 0; i < c->nvolumes; i++) {
    sources[i] = -1;
    if (!c->volumes[i].source) continue;
    int fd = open_source(c, &c->volumes[i]);
    sources[i] = bind_tree(c, &c->volumes[i], fd);
    close(fd);
  }
  int etc[ETC_FILES];
  for (int i = 0; i < ETC_FILES; i++) {
    etc[i] = -1;
    const char *path = etc_file_path(c, i);
    if (!path) continue;
    /* Read-only: a service writing its /etc/hosts would grow a file on the host's /run. */
    int fd = open_host_path("view", c, path, etc_file_names[i]);
    etc[i] = clone_tree(fd);
    if (etc[i] < 0 || set_mount_flags(etc[i], LAUNCHER_MOUNT_ATTR_RDONLY | LAUNCHER_MOUNT_ATTR_NOSUID | LAUNCHER_MOUNT_ATTR_NODEV) < 0)
      fail("view", errno, "copy the mount of %s", path);
    close(fd);
  }

  int image = c->nimage_layers > 0; /* the image's overlay (launcher/image.h), not the host's folders */
  if (image) {
    mount_image_root(c, HOST_ROOT);
    if (syscall(SYS_pivot_root, IMAGE_ROOT, IMAGE_ROOT HOST_ROOT) < 0) fail("view", errno, "pivot_root into the image's root");
  } else {
    view_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=" ROOT_SIZE);
    view_mkdir("/tmp" HOST_ROOT, 0700);
    if (syscall(SYS_pivot_root, "/tmp", "/tmp" HOST_ROOT) < 0) fail("view", errno, "pivot_root into the new root");
  }
  if (chdir("/") < 0) fail("view", errno, "chdir /");
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail("view", errno, "open the new root");
  if (make_tree_readonly(HOST_ROOT) < 0) fail("view", errno, "make the host's root read-only while the view is built");

  if (!image) mirror_host_root();
  build_dev(c);
  bind_devices(c, HOST_ROOT);
  build_sys_and_proc();
  if (!image) build_scratch(); /* an image keeps its own /tmp, /run and /var/tmp */
  if (!image) hide_paths(c);   /* nothing of the host's is in an image's root */
  for (int i = 0; i < ETC_FILES; i++)
    if (etc[i] >= 0) bind_etc_file(etc[i], etc_file_names[i]);
  mount_volumes(c, sources, root);
  seal_overlays();

  for (size_t i = 0; i < c->nvolumes; i++)
    if (sources[i] >= 0) close(sources[i]);
  for (int i = 0; i < ETC_FILES; i++)
    if (etc[i] >= 0) close(etc[i]);
  free(sources);
  if (umount2(HOST_ROOT, MNT_DETACH) < 0) fail("view", errno, "detach the host's root");
  /* An image's is a folder of its read-only mount point layer, left empty. */
  if (!image && rmdir(HOST_ROOT) < 0) fail("view", errno, "rmdir " HOST_ROOT);
  if (c->read_only && set_readonly(root, "", 0, 1) < 0) fail("view", errno, "make the root read-only");
  close(root);
}

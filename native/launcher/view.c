/* The service's own root: see view.h. */
#define _GNU_SOURCE
#include "launcher/view.h"

#include <dirent.h>
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
#include "launcher/target.h"

#define HOST_ROOT "/.stack-host"

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

static void build_dev(void) {
  view_mkdir("/dev", 0755);
  view_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
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
  view_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
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
  if (S_ISDIR(st.st_mode)) view_mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
  else view_mount("/dev/null", path, NULL, MS_BIND, NULL);
}

static void build_sys_and_proc(void) {
  bind_host_readonly("/sys");
  mask("/sys/firmware");
  mask("/sys/devices/virtual/powercap");
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

static void build_scratch(void) {
  view_mkdir("/tmp", 01777);
  view_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  view_mkdir("/run", 0755);
  view_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
  struct stat st;
  if (lstat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode)) view_mount("tmpfs", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

/* Opens a host path by the host's own resolution, before the view hides the host. */
static int open_host_path(const char *stage, const struct config *c, const char *path, const char *what) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) fail(stage, errno, "service %s: %s %s", c->name, what, path);
  return fd;
}

/* Binds host file `fd` over /etc/<name> of the view, on the entry itself (a symlink too). */
static void bind_etc_file(int fd, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/etc/%s", name);
  int onto = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (onto < 0 && errno == ENOENT) { /* a host without it: made in an overlay of /etc */
    if (!overlaid("/etc")) overlay_folder("/etc");
    view_mkfile(path);
    onto = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (onto < 0) fail("view", errno, "open %s to put the service's own over it", path);
  int tree = clone_tree(fd);
  if (tree < 0 || attach_tree(tree, onto) < 0) fail("view", errno, "mount the service's %s", path);
  close(tree);
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
      tree = clone_tree(sources[i]);
      if (tree < 0) fail("volume", errno, "service %s: bind %s (for %s)", c->name, v->source, v->target);
      if (v->read_only && set_readonly(tree, "", 1, 1) < 0) fail("volume", errno, "make the bind of %s read-only", v->source);
    } else {
      tree = new_tmpfs(v->size, v->mode, v->read_only);
      if (tree < 0) fail("volume", errno, "service %s: tmpfs for %s (size %s, mode %s)", c->name, v->target, v->size ? v->size : "-", v->mode ? v->mode : "-");
    }
    int onto = open_target(c, v, root, file);
    if (attach_tree(tree, onto) < 0) fail("volume", errno, "service %s: mount %s on %s", c->name, v->source ? v->source : "tmpfs", v->target);
    close(onto);
    close(tree);
  }
}

void build_view(const struct config *c) {
  int *sources = calloc(c->nvolumes + 1, sizeof *sources);
  if (!sources) fail("view", ENOMEM, "volumes");
  for (size_t i = 0; i < c->nvolumes; i++)
    sources[i] = c->volumes[i].source ? open_host_path("source", c, c->volumes[i].source, "volume source") : -1;
  const char *etc_names[] = {"hosts", "hostname", "resolv.conf"};
  const char *etc_paths[] = {c->etc_hosts, c->etc_hostname, c->etc_resolv_conf};
  int etc[3];
  for (int i = 0; i < 3; i++) etc[i] = etc_paths[i] ? open_host_path("view", c, etc_paths[i], etc_names[i]) : -1;

  view_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
  view_mkdir("/tmp" HOST_ROOT, 0700);
  if (syscall(SYS_pivot_root, "/tmp", "/tmp" HOST_ROOT) < 0) fail("view", errno, "pivot_root into the new root");
  if (chdir("/") < 0) fail("view", errno, "chdir /");
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail("view", errno, "open the new root");

  mirror_host_root();
  build_dev();
  build_sys_and_proc();
  build_scratch();
  for (int i = 0; i < 3; i++)
    if (etc[i] >= 0) bind_etc_file(etc[i], etc_names[i]);
  mount_volumes(c, sources, root);
  seal_overlays();

  for (size_t i = 0; i < c->nvolumes; i++)
    if (sources[i] >= 0) close(sources[i]);
  for (int i = 0; i < 3; i++)
    if (etc[i] >= 0) close(etc[i]);
  free(sources);
  if (umount2(HOST_ROOT, MNT_DETACH) < 0) fail("view", errno, "detach the host's root");
  if (rmdir(HOST_ROOT) < 0) fail("view", errno, "rmdir " HOST_ROOT);
  if (c->read_only && set_readonly(root, "", 0, 1) < 0) fail("view", errno, "make the root read-only");
  close(root);
}

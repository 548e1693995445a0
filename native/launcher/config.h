/* The launch request. Node writes it on the launcher's stdin as NUL-terminated strings in
 * key/value pairs (`key\0value\0`), repeated keys for lists; see src/runtime/launcher-config.ts.
 * Nothing travels on the command line: /proc/PID/cmdline is world-readable and the monitor
 * lives as long as the service, so the environment (passwords) must not be in its argv. */
#ifndef STACK_LAUNCHER_CONFIG_H
#define STACK_LAUNCHER_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/seccomp.h"

/* One volume of the view, in request order: `mount` starts one, `mount_*` keys fill it in. */
struct volume {
  const char *type;   /* "bind" (a host folder or file, named and anonymous volumes too) or "tmpfs" */
  const char *source; /* bind: host path, resolved on the host before the view exists */
  const char *target; /* absolute path inside the view */
  int read_only;
  const char *size; /* tmpfs: bytes, or NULL */
  const char *mode; /* tmpfs: octal mode, or NULL */
  const char *beneath; /* bind: a folder holding the source below which no symlink is followed, or NULL */
};

/* A host device node bound into the view's /dev (`device` starts one, `device_target` ends it). */
struct device {
  const char *source; /* host path of the node */
  const char *target; /* path under /dev in the view */
};

struct config {
  const char *name;        /* service name, for messages */
  const char *log_path;    /* CRI-format log file, rotated */
  long long log_max_bytes; /* bound of one log file */
  int log_max_files;       /* files kept, the live one included */
  const char *exit_path;   /* exit record, written atomically when the workload is gone */
  const char *netns;       /* NULL: host network; "new": a fresh empty one; else a netns path */
  const char *pid_ns;      /* NULL: a new one; "host": the host's; else a namespace path to join (/proc/PID/ns/pid) */
  const char *ipc_ns;      /* NULL: a new one; "host": the host's; else a namespace path to join (/proc/PID/ns/ipc) */
  const char *shm_from;    /* NULL: a /dev/shm of its own; "host": the host's; else the mount namespace (/proc/PID/ns/mnt) whose /dev/shm it shares */
  const char *hostname;
  const char *cwd;
  int init;                /* `init: true`: the launcher's own init is pid 1 (launcher/init.h) */
  int hold;                /* a one-off's holder: under the init, a workload that runs no program and waits */
  int tty;                 /* `tty: true`: stdin, stdout and stderr are a pseudo-terminal the monitor logs */
  int stdin_open;          /* `stdin_open: true`: stdin a pipe kept open (never written), not /dev/null */
  const char *search_path; /* PATH used to find the command (the service's, or Docker's default) */
  const char *oom_events;  /* file with the `oom_kill N` line; else found among the cgroups */
  uid_t uid;
  gid_t gid;
  uint64_t caps; /* capabilities of a root workload; its bounding set in every case */
  const char **cgroups;
  size_t ncgroups;
  int born_in; /* the index in cgroups of the group the workload was cloned into (launcher.c), -1: none */
  gid_t *groups;
  size_t ngroups;
  char **env; /* NULL-terminated */
  size_t nenv;
  char **argv; /* NULL-terminated */
  size_t nargv;
  /* The built root of launcher/view.h; without `view` the service sees the host's root. */
  int view;
  int read_only; /* `read_only: true`: the view's own root is read-only too */
  const char *etc_hosts, *etc_hostname, *etc_resolv_conf; /* host files bound over /etc/... */
  struct volume *volumes;
  size_t nvolumes;
  const char *shm_size; /* bytes of /dev/shm, or NULL (64 MiB) */
  const char **hide;    /* paths of the view hidden from the service (launcher/view.c) */
  size_t nhide;
  struct device *devices; /* launcher/devices.h */
  size_t ndevices;
  struct seccomp_request seccomp; /* the filter loaded before exec (common/seccomp.h) */
  /* An image service's root (launcher/image.h) instead of the host's folders: its unpacked
   * layers (`image_layer`, lowest first) and its writable upper (`image_upper` and
   * `image_work`, both or neither: none is a read-only root). */
  const char **image_layers;
  size_t nimage_layers;
  const char *image_upper, *image_work;
  /* What the workload sets on itself (launcher/settings.h): `sysctl` NAME=VALUE, `rlimit`
   * NAME SOFT HARD, `oom_score_adj` and `domainname`. */
  const char **sysctls;
  size_t nsysctls;
  const char **rlimits;
  size_t nrlimits;
  const char *oom_score_adj;
  const char *domainname;
};

/* Parses the request in `buf` (kept: the config points into it); fails with a "config"
 * report on any unknown key or missing value. */
void parse_config(struct config *c, char *buf, size_t len);

/* The /etc files a request may bind the host's over (etc_hosts, etc_hostname, etc_resolv_conf):
 * the name of file `i` below /etc, and its host path in `c` (NULL: the root's own shows). */
#define ETC_FILES 3
extern const char *const etc_file_names[ETC_FILES];
const char *etc_file_path(const struct config *c, int i);

#endif

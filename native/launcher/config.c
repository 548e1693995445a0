/* The launch request: see config.h. */
#define _GNU_SOURCE
#include "launcher/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/identity.h"
#include "common/number.h"
#include "common/pairs.h"
#include "common/report.h"
#include "launcher/settings.h"

const char *const etc_file_names[ETC_FILES] = {"hosts", "hostname", "resolv.conf"};

const char *etc_file_path(const struct config *c, int i) {
  const char *paths[ETC_FILES] = {c->etc_hosts, c->etc_hostname, c->etc_resolv_conf};
  return paths[i];
}

/* The volume the `mount_*` key `key` fills in: the last one started. */
static struct volume *current_volume(struct config *c, const char *key) {
  if (!c->nvolumes) fail("config", EINVAL, "%s before any mount key", key);
  return &c->volumes[c->nvolumes - 1];
}

void parse_config(struct config *c, char *buf, size_t len) {
  struct pairs it;
  size_t strings = pairs_start(&it, buf, len, "config", "launch request");
  if (strings % 2) fail("config", EINVAL, "launch request has a key without a value");
  memset(c, 0, sizeof *c);
  c->log_max_bytes = 10 * 1024 * 1024;
  c->log_max_files = 3;
  c->uid = (uid_t)-1;
  c->gid = (gid_t)-1;
  int has_caps = 0;
  c->cgroups = calloc(strings, sizeof *c->cgroups);
  c->groups = calloc(strings, sizeof *c->groups);
  c->env = calloc(strings + 1, sizeof *c->env);
  c->argv = calloc(strings + 1, sizeof *c->argv);
  c->volumes = calloc(strings, sizeof *c->volumes);
  c->hide = calloc(strings, sizeof *c->hide);
  c->devices = calloc(strings, sizeof *c->devices);
  c->image_layers = calloc(strings, sizeof *c->image_layers);
  c->sysctls = calloc(strings, sizeof *c->sysctls);
  c->rlimits = calloc(strings, sizeof *c->rlimits);
  if (!c->sysctls || !c->rlimits) fail("config", ENOMEM, "parsing the launch request");
  if (!c->cgroups || !c->groups || !c->env || !c->argv || !c->volumes || !c->hide || !c->devices || !c->image_layers) fail("config", ENOMEM, "parsing the launch request");
  for (char *key, *value; pairs_next(&it, &key, &value);) {
    if (!strcmp(key, "name")) c->name = value;
    else if (!strcmp(key, "log")) c->log_path = value;
    else if (!strcmp(key, "log_max_bytes")) c->log_max_bytes = (long long)parse_number("config", key, value, 10, 1ULL << 40);
    else if (!strcmp(key, "log_max_files")) c->log_max_files = (int)parse_number("config", key, value, 10, 100);
    else if (!strcmp(key, "exit")) c->exit_path = value;
    else if (!strcmp(key, "cgroup")) c->cgroups[c->ncgroups++] = value;
    else if (!strcmp(key, "netns")) c->netns = value;
    else if (!strcmp(key, "pid_ns")) c->pid_ns = value;
    else if (!strcmp(key, "ipc_ns")) c->ipc_ns = value;
    else if (!strcmp(key, "shm_from")) c->shm_from = value;
    else if (!strcmp(key, "hostname")) c->hostname = value;
    else if (!strcmp(key, "cwd")) c->cwd = value;
    else if (!strcmp(key, "init")) c->init = !strcmp(value, "1");
    else if (!strcmp(key, "hold")) c->hold = !strcmp(value, "1");
    else if (!strcmp(key, "tty")) c->tty = !strcmp(value, "1");
    else if (!strcmp(key, "stdin_open")) c->stdin_open = !strcmp(value, "1");
    else if (!strcmp(key, "search_path")) c->search_path = value;
    else if (!strcmp(key, "oom_events")) c->oom_events = value;
    else if (!strcmp(key, "uid")) c->uid = (uid_t)parse_number("config", key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "gid")) c->gid = (gid_t)parse_number("config", key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "group")) c->groups[c->ngroups++] = (gid_t)parse_number("config", key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "caps")) c->caps = parse_number("config", key, value, 16, ~0ULL), has_caps = 1;
    else if (!strcmp(key, "env")) c->env[c->nenv++] = value;
    else if (!strcmp(key, "arg")) c->argv[c->nargv++] = value;
    else if (!strcmp(key, "view")) c->view = !strcmp(value, "1");
    else if (!strcmp(key, "read_only")) c->read_only = !strcmp(value, "1");
    else if (!strcmp(key, "etc_hosts")) c->etc_hosts = value;
    else if (!strcmp(key, "etc_hostname")) c->etc_hostname = value;
    else if (!strcmp(key, "etc_resolv_conf")) c->etc_resolv_conf = value;
    else if (!strcmp(key, "hide")) c->hide[c->nhide++] = value;
    else if (!strcmp(key, "device")) c->devices[c->ndevices++].source = value;
    else if (!strcmp(key, "device_target") && c->ndevices && !c->devices[c->ndevices - 1].target) c->devices[c->ndevices - 1].target = value;
    else if (!strcmp(key, "shm_size")) parse_number("config", key, value, 10, ~0ULL), c->shm_size = value;
    else if (!strcmp(key, "mount_beneath")) current_volume(c, key)->beneath = value;
    else if (!strcmp(key, "mount")) c->volumes[c->nvolumes++].type = value;
    else if (!strcmp(key, "mount_source")) current_volume(c, key)->source = value;
    else if (!strcmp(key, "mount_target")) current_volume(c, key)->target = value;
    else if (!strcmp(key, "mount_read_only")) current_volume(c, key)->read_only = !strcmp(value, "1");
    else if (!strcmp(key, "mount_size")) parse_number("config", key, value, 10, ~0ULL), current_volume(c, key)->size = value;
    else if (!strcmp(key, "mount_mode")) parse_number("config", key, value, 8, 07777), current_volume(c, key)->mode = value;
    else if (!strcmp(key, "image_layer")) c->image_layers[c->nimage_layers++] = value;
    else if (!strcmp(key, "image_upper")) c->image_upper = value;
    else if (!strcmp(key, "image_work")) c->image_work = value;
    else if (!strcmp(key, "sysctl")) c->sysctls[c->nsysctls++] = value;
    else if (!strcmp(key, "rlimit")) {
      if (!rlimit_request_ok(value)) fail("config", EINVAL, "bad rlimit %s", value);
      c->rlimits[c->nrlimits++] = value;
    } else if (!strcmp(key, "oom_score_adj")) {
      char *end;
      errno = 0;
      long v = strtol(value, &end, 10);
      if (errno || end == value || *end || v < -1000 || v > 1000) fail("config", EINVAL, "bad oom_score_adj %s", value);
      c->oom_score_adj = value;
    }
    else if (!strcmp(key, "domainname")) c->domainname = value;
    else if (seccomp_request_key(&c->seccomp, key, value)) continue;
    else fail("config", EINVAL, "unknown key in launch request: %s (launcher and Node side out of date?)", key);
  }
  const char *missing = !c->name ? "name" : !c->log_path ? "log" : !c->exit_path ? "exit" : !c->hostname ? "hostname"
                        : !c->cwd ? "cwd" : c->uid == (uid_t)-1 ? "uid" : c->gid == (gid_t)-1 ? "gid"
                        : !has_caps ? "caps" : !c->nargv ? "arg" : NULL;
  if (missing) fail("config", EINVAL, "launch request lacks %s", missing);
  for (size_t i = 0; i < c->nvolumes; i++) {
    const struct volume *v = &c->volumes[i];
    int bind = !strcmp(v->type, "bind");
    if (!bind && strcmp(v->type, "tmpfs")) fail("config", EINVAL, "mount %zu: unknown type %s", i, v->type);
    if (!v->target || (bind && !v->source)) fail("config", EINVAL, "mount %zu (%s) lacks its %s", i, v->type, v->target ? "source" : "target");
  }
  for (size_t i = 0; i < c->ndevices; i++)
    if (!c->devices[i].target) fail("config", EINVAL, "device %s lacks its device_target", c->devices[i].source);
  if (!c->view && (c->ndevices || c->nvolumes || c->nhide || c->shm_size || c->read_only || c->etc_hosts || c->etc_hostname || c->etc_resolv_conf))
    fail("config", EINVAL, "volumes, read_only and /etc files need the built view (view 1)");
  if ((c->nimage_layers || c->image_upper || c->image_work) && !c->view) fail("config", EINVAL, "an image root needs the built view (view 1)");
  if ((c->image_upper || c->image_work) && (!c->nimage_layers || !c->image_upper || !c->image_work))
    fail("config", EINVAL, "image_upper and image_work go together, with image_layer");
  if (c->log_max_bytes < 4096 || c->log_max_files < 1) fail("config", EINVAL, "log bound too small");
  if (!c->search_path) c->search_path = DEFAULT_SEARCH_PATH;
}

/* The launch request. Node writes it on the launcher's stdin as NUL-terminated strings in
 * key/value pairs (`key\0value\0`), repeated keys for lists; see src/executor/launcher-config.ts.
 * Nothing travels on the command line: /proc/PID/cmdline is world-readable and the monitor
 * lives as long as the service, so the environment (passwords) must not be in its argv. */
#pragma once

/* One volume of the view, in request order: `mount` starts one, `mount_*` keys fill it in. */
struct volume {
  const char *type;   /* "bind" (a host folder or file, named and anonymous volumes too) or "tmpfs" */
  const char *source; /* bind: host path, resolved on the host before the view exists */
  const char *target; /* absolute path inside the view */
  int read_only;
  const char *size; /* tmpfs: bytes, or NULL */
  const char *mode; /* tmpfs: octal mode, or NULL */
};

struct config {
  const char *name;        /* service name, for messages */
  const char *log_path;    /* CRI-format log file, rotated */
  long long log_max_bytes; /* bound of one log file */
  int log_max_files;       /* files kept, the live one included */
  const char *exit_path;   /* exit record, written atomically when the workload is gone */
  const char *netns;       /* NULL: host network; "new": a fresh empty one; else a netns path */
  const char *hostname;
  const char *cwd;
  int init;                /* `init: true`: the launcher's own init is pid 1 (launcher/init.h) */
  const char *search_path; /* PATH used to find the command (the service's, or Docker's default) */
  const char *oom_events;  /* file with the `oom_kill N` line; else found among the cgroups */
  uid_t uid;
  gid_t gid;
  uint64_t caps; /* capabilities of a root workload; its bounding set in every case */
  const char **cgroups;
  size_t ncgroups;
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
};

/* The volume the `mount_*` key `key` fills in: the last one started. */
static struct volume *current_volume(struct config *c, const char *key) {
  if (!c->nvolumes) fail("config", EINVAL, "%s before any mount key", key);
  return &c->volumes[c->nvolumes - 1];
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) fail("config", ENOMEM, "reading the launch request");
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) fail("config", ENOMEM, "reading the launch request");
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("config", errno, "reading the launch request from stdin");
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = n;
  return buf;
}

static unsigned long long parse_number(const char *key, const char *value, int base, unsigned long long max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, base);
  if (errno || end == value || *end || value[0] == '-' || v > max) fail("config", EINVAL, "%s: not a number: %s", key, value);
  return v;
}

/* Parses the request; fails with a "config" report on any unknown key or missing value. */
static void parse_config(struct config *c, char *buf, size_t len) {
  if (len == 0 || buf[len - 1] != '\0') fail("config", EINVAL, "launch request is empty or not NUL-terminated");
  size_t strings = 0;
  for (size_t i = 0; i < len; i++) strings += buf[i] == '\0';
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
  if (!c->cgroups || !c->groups || !c->env || !c->argv || !c->volumes) fail("config", ENOMEM, "parsing the launch request");
  for (char *p = buf; p < buf + len;) {
    char *key = p;
    p += strlen(p) + 1;
    char *value = p;
    p += strlen(p) + 1;
    if (!strcmp(key, "name")) c->name = value;
    else if (!strcmp(key, "log")) c->log_path = value;
    else if (!strcmp(key, "log_max_bytes")) c->log_max_bytes = (long long)parse_number(key, value, 10, 1ULL << 40);
    else if (!strcmp(key, "log_max_files")) c->log_max_files = (int)parse_number(key, value, 10, 100);
    else if (!strcmp(key, "exit")) c->exit_path = value;
    else if (!strcmp(key, "cgroup")) c->cgroups[c->ncgroups++] = value;
    else if (!strcmp(key, "netns")) c->netns = value;
    else if (!strcmp(key, "hostname")) c->hostname = value;
    else if (!strcmp(key, "cwd")) c->cwd = value;
    else if (!strcmp(key, "init")) c->init = !strcmp(value, "1");
    else if (!strcmp(key, "search_path")) c->search_path = value;
    else if (!strcmp(key, "oom_events")) c->oom_events = value;
    else if (!strcmp(key, "uid")) c->uid = (uid_t)parse_number(key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "gid")) c->gid = (gid_t)parse_number(key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "group")) c->groups[c->ngroups++] = (gid_t)parse_number(key, value, 10, 0xfffffffeULL);
    else if (!strcmp(key, "caps")) c->caps = parse_number(key, value, 16, ~0ULL), has_caps = 1;
    else if (!strcmp(key, "env")) c->env[c->nenv++] = value;
    else if (!strcmp(key, "arg")) c->argv[c->nargv++] = value;
    else if (!strcmp(key, "view")) c->view = !strcmp(value, "1");
    else if (!strcmp(key, "read_only")) c->read_only = !strcmp(value, "1");
    else if (!strcmp(key, "etc_hosts")) c->etc_hosts = value;
    else if (!strcmp(key, "etc_hostname")) c->etc_hostname = value;
    else if (!strcmp(key, "etc_resolv_conf")) c->etc_resolv_conf = value;
    else if (!strcmp(key, "mount")) c->volumes[c->nvolumes++].type = value;
    else if (!strcmp(key, "mount_source")) current_volume(c, key)->source = value;
    else if (!strcmp(key, "mount_target")) current_volume(c, key)->target = value;
    else if (!strcmp(key, "mount_read_only")) current_volume(c, key)->read_only = !strcmp(value, "1");
    else if (!strcmp(key, "mount_size")) parse_number(key, value, 10, ~0ULL), current_volume(c, key)->size = value;
    else if (!strcmp(key, "mount_mode")) parse_number(key, value, 8, 07777), current_volume(c, key)->mode = value;
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
  if (!c->view && (c->nvolumes || c->read_only || c->etc_hosts || c->etc_hostname || c->etc_resolv_conf))
    fail("config", EINVAL, "volumes, read_only and /etc files need the built view (view 1)");
  if (c->log_max_bytes < 4096 || c->log_max_files < 1) fail("config", EINVAL, "log bound too small");
  if (!c->search_path) c->search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* The monitor: conmon's job, in the host's namespaces and outside the service's cgroups.
 * It owns the read ends of the workload's stdout and stderr, so the service never writes
 * into a pipe of the supervisor (no SIGPIPE, no lost output when the supervisor dies),
 * logs every line, reaps the workload and leaves an exit record, then exits itself. */
#pragma once

static long long read_oom_kill_line(const char *path) {
  char text[4096];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, "oom_kill ", 9)) return atoll(line + 9);
  return -1;
}

/* The `oom_kill N` counter of the service's memory cgroup (v1 memory.oom_control, v2
 * memory.events): the file named in the request, else the first such file among the
 * cgroups; -1 when there is none. */
static long long read_oom_kills(const struct config *c) {
  if (c->oom_events) return read_oom_kill_line(c->oom_events);
  static const char *files[] = {"memory.oom_control", "memory.events"};
  char path[PATH_MAX];
  for (size_t i = 0; i < c->ncgroups; i++) {
    for (size_t f = 0; f < 2; f++) {
      snprintf(path, sizeof path, "%s/%s", c->cgroups[i], files[f]);
      long long kills = read_oom_kill_line(path);
      if (kills >= 0) return kills;
    }
  }
  return -1;
}

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot, what makes a pid unique. */
static unsigned long long read_start_time(pid_t pid) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  char *p = strrchr(text, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

struct exit_info {
  pid_t pid;
  unsigned long long start_time;
  int status;
  long long oom_before, oom_after;
};

/* Writes the exit record as JSON, atomically (temp file + rename), for stop/ps/restarts. */
static void write_exit_record(const struct config *c, const struct exit_info *e) {
  char stamp[40], code[16] = "null", signal_name[32] = "null", body[1024], tmp[PATH_MAX];
  format_now(stamp);
  if (WIFEXITED(e->status)) snprintf(code, sizeof code, "%d", WEXITSTATUS(e->status));
  if (WIFSIGNALED(e->status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(e->status));
    if (abbrev) snprintf(signal_name, sizeof signal_name, "\"SIG%s\"", abbrev);
    else snprintf(signal_name, sizeof signal_name, "\"SIG%d\"", WTERMSIG(e->status));
  }
  long long kills = e->oom_before >= 0 && e->oom_after >= 0 ? e->oom_after - e->oom_before : 0;
  snprintf(body, sizeof body,
           "{\"pid\":%d,\"startTime\":%llu,\"exitCode\":%s,\"signal\":%s,\"oomKilled\":%s,"
           "\"oomKills\":%lld,\"exitedAt\":\"%s\"}\n",
           (int)e->pid, e->start_time, code, signal_name, kills > 0 ? "true" : "false", kills, stamp);
  snprintf(tmp, sizeof tmp, "%s.tmp%d", c->exit_path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, body, strlen(body));
  close(fd);
  rename(tmp, c->exit_path);
}

/* Copies output to the log until the workload is reaped and both pipes are at EOF (or,
 * after the exit, quiet for DRAIN_MS: a descendant that kept a copy of the pipe). */
#define DRAIN_MS 2000
static int monitor_loop(struct log *log, pid_t pid, int out_r, int err_r, int sigfd) {
  struct pollfd fds[3] = {{out_r, POLLIN, 0}, {err_r, POLLIN, 0}, {sigfd, POLLIN, 0}};
  static const char *streams[2] = {"stdout", "stderr"};
  size_t chunk = log->max_bytes / 2 < 65536 ? (size_t)(log->max_bytes / 2) : 65536;
  char *buf = malloc(chunk);
  int status = 0, reaped = 0, open_pipes = 2;
  while (open_pipes > 0 || !reaped) {
    int ready = poll(fds, 3, reaped ? DRAIN_MS : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break; /* drained long enough after the exit */
    for (int i = 0; i < 2; i++) {
      if (!fds[i].revents) continue;
      ssize_t n = read(fds[i].fd, buf, chunk);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n > 0) {
        log_chunk(log, streams[i], buf, (size_t)n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_pipes--;
      }
    }
    if (fds[2].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {}
      if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
        reaped = 1;
        fds[2].fd = -1;
      }
    }
  }
  if (!reaped) waitpid(pid, &status, 0);
  free(buf);
  return status;
}

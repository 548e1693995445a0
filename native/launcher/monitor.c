/* The monitor: see monitor.h. */
#define _GNU_SOURCE
#include "launcher/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"
#include "common/report.h"

static long long read_oom_kill_line(const char *path) {
  char text[4096];
  if (read_small_file(path, text, sizeof text) < 0) return -1;
  for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, "oom_kill ", 9)) return atoll(line + 9);
  return -1;
}

long long read_oom_kills(const struct config *c) {
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

void write_exit_record(const struct config *c, const struct exit_info *e) {
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
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* a state record: 0600 as every other */
  if (fd < 0) return;
  write_all(fd, body, strlen(body));
  close(fd);
  rename(tmp, c->exit_path);
}

/* Copies output to the log until the workload is reaped and both pipes are at EOF (or,
 * after the exit, quiet for DRAIN_MS: a descendant that kept a copy of the pipe). */
#define DRAIN_MS 2000
int monitor_loop(struct log *log, pid_t pid, int out_r, int err_r, int sigfd) {
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

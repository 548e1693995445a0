/* The workload side of the launch, run as pid 1 of its fresh pid namespace (cloned with
 * CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC, and NEWNET for "new"): join the cgroups, enter the
 * network namespace, build the filesystem view, set hostname, directory and identity, exec.
 * With `init` it forks first, after all of that, and stays as the init (launcher/init.h): the
 * service runs as pid 2. Every failure is reported through the error pipe and ends this
 * process with 127. */
#pragma once

static void join_cgroups(const struct config *c) {
  char path[PATH_MAX];
  for (size_t i = 0; i < c->ncgroups; i++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", c->cgroups[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) fail("cgroup", errno, "join %s", path);
    close(fd);
  }
}

static void enter_netns(const struct config *c) {
  if (!c->netns || !strcmp(c->netns, "new")) return;
  int fd = open(c->netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("netns", errno, "open %s", c->netns);
  if (setns(fd, CLONE_NEWNET) < 0) fail("netns", errno, "setns %s", c->netns);
  close(fd);
}

/* Signal dispositions set to SIG_IGN survive exec: the workload starts with all defaults. */
static void reset_signals(void) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Finds the program as execvp would, but in the service's PATH and as the service's user. */
static const char *resolve_program(const struct config *c, char *buf, size_t size) {
  return find_program(c->argv[0], c->search_path, buf, size);
}

/* `report` is the init's shared page, NULL without `init`. */
__attribute__((noreturn)) static void workload_main(const struct config *c, int out_w, int err_w, struct init_report *report) {
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) fail("stdio", errno, "set up stdio");
  join_cgroups(c);
  enter_netns(c);
  setup_filesystem(c);
  if (sethostname(c->hostname, strlen(c->hostname)) < 0) fail("hostname", errno, "%s", c->hostname);
  if (chdir(c->cwd) < 0) fail("chdir", errno, "%s", c->cwd);
  switch_identity(c);
  char path[PATH_MAX];
  const char *program = resolve_program(c, path, sizeof path);
  /* The init forks here, with everything above done: it has the workload's identity,
   * capabilities and no_new_privs (and any filter set up above), and only the child returns. */
  if (c->init) start_init(report);
  reset_signals();
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(program, c->argv, c->env);
  fail("exec", errno, "%s", c->argv[0]);
}

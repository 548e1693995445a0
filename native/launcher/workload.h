/* The workload side of the launch, run as pid 1 of its fresh pid namespace (cloned with
 * CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC, and NEWNET for "new"): join the cgroups, enter the
 * network namespace, build the filesystem view, set hostname, directory and identity, exec.
 * Every failure is reported through the error pipe and ends this process with 127. */
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

__attribute__((noreturn)) static void workload_main(const struct config *c, int out_w, int err_w) {
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
  reset_signals();
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (c->init) {
    char **argv = calloc(c->nargv + 4, sizeof *argv);
    if (!argv) fail("exec", ENOMEM, "%s", c->init);
    argv[0] = (char *)c->init;
    argv[1] = "--";
    argv[2] = (char *)program;
    memcpy(argv + 3, c->argv + 1, c->nargv * sizeof *argv); /* includes the NULL */
    execve(c->init, argv, c->env);
    fail("exec", errno, "%s", c->init);
  }
  execve(program, c->argv, c->env);
  fail("exec", errno, "%s", c->argv[0]);
}

/* The exec helper's pseudo-terminal: see pty.h. */
#define _GNU_SOURCE
#include "exec/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/report.h"
#include "exec/service.h"

/* The user's terminal as it was before raw mode (restored by pty_restore). */
static struct termios pty_saved;
static int pty_raw;

int pty_open(int rootfd, uid_t uid, int *slave) {
  /* The service can rewrite its own /dev: what /dev/ptmx names is looked at (O_PATH opens
   * nothing) before it is opened, and only a devpts instance's ptmx (5:2) is. */
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int path = (int)syscall(SYS_openat2, rootfd, "dev/ptmx", &how, sizeof how);
  if (path < 0) fail("pty", errno, "find the service's /dev/ptmx");
  struct stat st;
  struct statfs fs;
  if (fstat(path, &st) < 0 || fstatfs(path, &fs) < 0) fail("pty", errno, "look at the service's /dev/ptmx");
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2 || fs.f_type != DEVPTS_SUPER_MAGIC)
    fail("pty", ENOTTY, "the service's /dev/ptmx is not its devpts ptmx (changed by the service?)");
  char again[64];
  snprintf(again, sizeof again, "self/fd/%d", path);
  int master = openat(host_proc_fd, again, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  close(path);
  if (master < 0) fail("pty", errno, "open the service's /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail("pty", errno, "unlock the pty");
  *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) fail("pty", errno, "open the pty's slave");
  /* Its owner is the command's user, as a login would leave it (the group stays devpts' gid=5). */
  if (fchown(*slave, uid, (gid_t)-1) < 0) fail("pty", errno, "chown the pty's slave to %u", (unsigned)uid);
  return master;
}

void pty_copy_size(int master) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

void pty_raw_mode(int slave) {
  if (tcgetattr(0, &pty_saved) < 0) return;
  tcsetattr(slave, TCSANOW, &pty_saved);
  struct termios raw = pty_saved;
  cfmakeraw(&raw);
  if (tcsetattr(0, TCSANOW, &raw) == 0) pty_raw = 1;
}

void pty_restore(void) {
  if (pty_raw) tcsetattr(0, TCSADRAIN, &pty_saved);
  pty_raw = 0;
}

int pty_relay(int master, pid_t child, int sigfd) {
  char in[4096], out[16384];
  size_t in_len = 0, in_off = 0;
  int stdin_open = 1, master_open = 1, status = 0, ended = 0;
  for (;;) {
    if (ended && !master_open) return status;
    struct pollfd pfd[3] = {
        {sigfd, POLLIN, 0},
        {master_open ? master : -1, (short)(POLLIN | (in_len ? POLLOUT : 0)), 0},
        {stdin_open && !in_len && !ended ? 0 : -1, POLLIN, 0},
    };
    /* Once the command has ended: what it wrote is drained, then the relay stops (a background
     * process still holding the slave does not keep stack waiting). */
    int n = poll(pfd, 3, ended ? 100 : -1);
    if (n < 0 && errno != EINTR) fail("pty", errno, "poll");
    if (n == 0) return status;
    if (n < 0) continue;
    /* Signals first: a resize that comes with the keystroke after it must be in place before it. */
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGWINCH) pty_copy_size(master);
        else if (info.ssi_signo != SIGCHLD) kill(-child, (int)info.ssi_signo);
      }
      if (!ended && waitpid(child, &status, WNOHANG) == child) ended = 1;
    }
    if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = read(master, out, sizeof out);
      if (got > 0) write_all(1, out, (size_t)got);
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        /* EIO: every holder of the slave has closed it; the command may still run. */
        master_open = 0;
        in_len = 0;
        continue;
      }
    }
    if (master_open && in_len && (pfd[1].revents & POLLOUT)) {
      ssize_t put = write(master, in + in_off, in_len);
      if (put > 0) in_off += (size_t)put, in_len -= (size_t)put;
      else if (put < 0 && errno != EAGAIN && errno != EINTR) in_len = 0;
    }
    if (pfd[2].fd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = read(0, in, sizeof in);
      if (got > 0) in_off = 0, in_len = (size_t)got;
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) stdin_open = 0;
    }
  }
}

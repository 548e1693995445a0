/* See leave.h. */
#define _GNU_SOURCE
#include "lib/leave.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The holder's stack: one frame and a few system calls. */
#define HOLDER_STACK (16 * 1024)
static char holder_stack[HOLDER_STACK] __attribute__((aligned(64)));

/* The first pid namespace's inode (the kernel's PROC_PID_INIT_INO). */
#define FIRST_PID_NS "pid:[4026531836]"

/* The holder: system calls only, on its own stack (it shares the calling thread's TLS, errno
 * included), until this process is gone; glibc's clone then ends it, and with it the memory's
 * last user. Its copy of the descriptor table holds only anonymous inodes (leave() closed the
 * rest) and its pidfd: it closes all but the pidfd first. A wait that fails for another reason
 * than a signal ends it too. */
static int hold(void *arg) {
  unsigned int pidfd = (unsigned int)(long)arg;
  if (pidfd > 0) syscall(SYS_close_range, 0, pidfd - 1, 0);
  syscall(SYS_close_range, pidfd + 1, ~0U, 0);
  syscall(SYS_chdir, "/");
  struct pollfd gone = {.fd = (int)pidfd, .events = POLLIN};
  while (syscall(SYS_ppoll, &gone, 1, NULL, NULL, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

/* Whether descriptor `name` (a number, an entry of the /proc/self/fd folder `dir`) is an
 * anonymous inode: its link reads `anon_inode:[eventfd]`, `anon_inode:[eventpoll]`... Told from
 * the link, not fstat(2), which would ask the file's own file system (a FUSE daemon gone, an NFS
 * server away) and could keep this process, all its signals blocked, from ever leaving. */
static int anonymous(int dir, const char *name) {
  static const char prefix[] = "anon_inode:";
  char target[64];
  ssize_t n = readlinkat(dir, name, target, sizeof target - 1);
  return n >= (ssize_t)(sizeof prefix - 1) && memcmp(target, prefix, sizeof prefix - 1) == 0;
}

/* Closes every descriptor but the anonymous inodes (eventfd, epoll, timerfd, signalfd: no other
 * process waits on them), listed from /proc/self/fd. Those stay for the threads this process
 * still runs until exit_group ends them: libuv's workers wake its loop through an eventfd when a
 * job ends, and abort() when that write fails, so closing it under them (close_range of every
 * descriptor, as this did first) killed a `down -v` with SIGABRT once its work was done (CI).
 * Pipes, sockets and files are closed: a reader of a pipe this process writes (its parent's)
 * must not wait for the holder to run. Without /proc, descriptors 0-2 alone are closed. */
static void close_all_but_anonymous(void) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    for (int fd = 0; fd <= 2; fd++) close(fd);
    return;
  }
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      struct dirent64 *entry = (struct dirent64 *)(buf + at);
      at += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      int fd = atoi(entry->d_name);
      if (fd == dir || anonymous(dir, entry->d_name)) continue;
      close(fd);
    }
  }
  close(dir);
}

__attribute__((visibility("default"))) int stack_leave_possible(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (isatty(fd)) return 0;
  }
  char ns[64];
  ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (n < 0) return 0;
  ns[n] = '\0';
  return strcmp(ns, FIRST_PID_NS) == 0;
}

__attribute__((visibility("default"))) void stack_leave(int status, int restore, int nonblocking_at_start) {
  for (int fd = 0; fd <= 2; fd++) {
    if (((restore >> fd) & 1) == 0) continue;
    int flags = fcntl(fd, F_GETFL);
    int was = (nonblocking_at_start >> fd) & 1;
    if (flags >= 0 && ((flags & O_NONBLOCK) != 0) != was) fcntl(fd, F_SETFL, flags ^ O_NONBLOCK);
  }
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  /* Pipes, sockets and files closed first, by this process, which is leaving: nobody waits for
   * the holder to be scheduled (on a core another process kept busy, that took 2.2 ms once)
   * before a pipe's reader sees its end. */
  close_all_but_anonymous();
  long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
  if (pidfd >= 0) clone(hold, holder_stack + HOLDER_STACK, CLONE_VM, (void *)pidfd);
  syscall(SYS_exit_group, status);
  _exit(status);
}

/* See spawn.h. */
#define _GNU_SOURCE
#include "lib/spawn.h"
#include "common/clone-into.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child does, and where it says why it could not (it shares this memory until it execs). */
struct child {
  const char *path;
  char *const *argv;
  char *const *envp;
  const int *fds;
  int nfds;
  const char *cwd;
  int new_session;
  int err;
};

/* Descriptors a child is given at most. */
#define MAX_FDS 1024

/* The child's stack (its frame is ~4.5 KiB: the descriptors' copies), above a page that faults
 * should it ever overflow, rather than writing over whatever this process maps below it. */
#define CHILD_STACK (64 * 1024)
#define GUARD 4096

/* clone3 with `args` (size `size`); in the child, on the stack the arguments name, fn(arg), then
 * exit with what it returns. Returns the child's pid, or -errno. Written in assembly: a child
 * sharing this memory must not return into a frame of its parent's. x86-64 only for now (the
 * machines this is built and tested on); elsewhere stack_spawn says ENOSYS and the caller uses
 * posix_spawn, the launcher then moving itself as before. */
long stack_clone3_run(struct clone3_args *args, size_t size, int (*fn)(void *), void *arg);

#if defined(__x86_64__)
#define CLONE3_RUN_ARCH 1
__asm__(
    ".text\n"
    ".globl stack_clone3_run\n"
    ".hidden stack_clone3_run\n"
    ".type stack_clone3_run,@function\n"
    "stack_clone3_run:\n"
    "  mov %rdx, %r8\n"       /* fn and arg in registers the system call keeps */
    "  mov %rcx, %r9\n"
    "  mov $435, %eax\n"      /* SYS_clone3: args in rdi, size in rsi */
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"      /* the child, on its own stack: no frame above this one */
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $231, %eax\n"      /* SYS_exit_group */
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size stack_clone3_run, .-stack_clone3_run\n");
#endif

#ifdef CLONE3_RUN_ARCH
/* The kernel's sigaction, for glibc's own signals (32, 33), which its sigaction() refuses. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

/* Every signal blocked, glibc's own too (its sigprocmask() leaves them out), or none: `set` 0 or ~0. */
static long mask_all(uint64_t set, uint64_t *old) {
  return syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, old, sizeof set);
}

/* The child, on its own stack and this process's memory, every signal blocked: Node's handlers
 * must not run here. As glibc's posix_spawn leaves them: each signal with a handler or ignored
 * (Node ignores SIGPIPE) back to its default, glibc's own two ignored; then none blocked, its
 * session, the descriptors, the folder, the exec. A failure is left in c->err, and the child
 * exits 127. */
static int run_child(void *arg) {
  struct child *c = arg;
  int copies[MAX_FDS];
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) {
    struct sigaction old;
    if (s == SIGKILL || s == SIGSTOP) continue;
    if (sigaction(s, NULL, &old) < 0) {
      /* glibc's own (its cancellation and setxid signals): ignored, as posix_spawn leaves them */
      struct kernel_sigaction ign = {SIG_IGN, 0, NULL, 0};
      syscall(SYS_rt_sigaction, s, &ign, NULL, sizeof ign.mask);
      continue;
    }
    if (old.sa_handler != SIG_DFL) sigaction(s, &dfl, NULL);
  }
  if (c->new_session && setsid() < 0) goto failed;
  /* Each source copied above every target first (a source may be an earlier target), then put
   * in place: dup2 leaves the target without close-on-exec; the copies have it. */
  for (int i = 0; i < c->nfds; i++)
    if ((copies[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, c->nfds)) < 0) goto failed;
  for (int i = 0; i < c->nfds; i++)
    if (dup2(copies[i], i) < 0) goto failed;
  if (c->cwd && chdir(c->cwd) < 0) goto failed;
  mask_all(0, NULL);
  execve(c->path, c->argv, c->envp);
failed:
  c->err = errno ? errno : EINVAL;
  return 127;
}

#endif

__attribute__((visibility("default"))) int stack_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds, const char *cwd, int new_session,
                int cgroup_fd, int *child_failed) {
  *child_failed = 0;
#ifndef CLONE3_RUN_ARCH
  (void)path, (void)argv, (void)envp, (void)fds, (void)nfds, (void)cwd, (void)new_session, (void)cgroup_fd;
  return -ENOSYS;
#else
  if (nfds < 0 || nfds > MAX_FDS) return -EMFILE; /* not EINVAL: native-spawn.ts takes that for clone3's refusal */
  /* A group with the cpuset controller before Linux 6.3 would not give the child its CPUs: it
   * moves itself there instead (the launcher's clone_workload has the same rule). */
  if (cgroup_fd >= 0 && cgroup_v2_has_at(cgroup_fd, "cpuset") == 1 && !cpuset_follows_clone_into()) return -EOPNOTSUPP;
  struct child c = {path, argv, envp, fds, nfds, cwd, new_session, 0};
  char *map = mmap(NULL, GUARD + CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) return -errno;
  if (mprotect(map, GUARD, PROT_NONE) < 0) {
    int err = errno;
    munmap(map, GUARD + CHILD_STACK);
    return -err;
  }
  struct clone3_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_VM | CLONE_VFORK | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP_FLAG : 0);
  args.exit_signal = SIGCHLD;
  args.stack = (uint64_t)(uintptr_t)(map + GUARD);
  args.stack_size = CHILD_STACK;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;
  uint64_t old = 0;
  if (mask_all(~(uint64_t)0, &old) < 0) {
    int err = errno;
    munmap(map, GUARD + CHILD_STACK);
    return -err;
  }
  /* CLONE_VFORK: back here once the child has exec'd or exited. */
  long pid = stack_clone3_run(&args, sizeof args, run_child, &c);
  mask_all(old, NULL);
  munmap(map, GUARD + CHILD_STACK);
  if (pid < 0) return (int)pid;
  if (c.err) {
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
    *child_failed = 1;
    return -c.err;
  }
  return (int)pid;
#endif
}

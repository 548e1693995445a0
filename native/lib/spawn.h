/* libstack.so (scripts/build-native.mjs), called through koffi by src/sys/native-spawn.ts. */
#ifndef STACK_LIB_SPAWN_H
#define STACK_LIB_SPAWN_H

/* posix_spawn's work for a program that must start in a cgroup v2 group: `path` (a path, not
 * searched on PATH) run with `argv` and `envp`, this process's `fds[i]` its descriptor i (the
 * others it inherits are close-on-exec here), every signal at its default and none blocked, in
 * `cwd` when not NULL, in a session of its own with `new_session`, and born in the group whose
 * folder `cgroup_fd` is open on (clone3's CLONE_INTO_CGROUP, Linux 5.7; none when it is -1),
 * never moved there: a move through cgroup.procs waits for an RCU grace period while it holds
 * the kernel's cgroup mutex (10-20 ms, during which every mkdir and move of a cgroup waits too).
 * The child runs on this process's memory until it execs (CLONE_VM | CLONE_VFORK), on a stack of
 * its own, as glibc's posix_spawn does; this thread waits meanwhile.
 * Returns the pid; or -errno with *child_failed 0 when no child was made (ENOSYS: no clone3, or
 * not on x86-64; a seccomp filter's ENOSYS or EPERM; EBUSY or EOPNOTSUPP: a group that
 * cannot take a process, or one with the cpuset controller before Linux 6.3: EOPNOTSUPP; ENOMEM;
 * EMFILE: more than 1024 descriptors), or 1 when the child could not do its part (the exec's ENOENT,
 * EACCES; a setsid, dup or chdir): that child is reaped. */
int stack_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds, const char *cwd, int new_session,
                int cgroup_fd, int *child_failed);

#endif

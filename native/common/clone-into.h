/* Cloning a child straight into a cgroup v2 group (clone3's CLONE_INTO_CGROUP): what the folder
 * offers and what this kernel then gives the child. Shared by the launcher (its workload's clone)
 * and libstack.so (the launchers' spawn, lib/spawn.c), which calls it from several threads at
 * once: nothing here keeps state. */
#ifndef STACK_COMMON_CLONE_INTO_H
#define STACK_COMMON_CLONE_INTO_H

#include <stdint.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
/* clone3(2)'s flag (Linux 5.7) and arguments as of that version (CLONE_ARGS_SIZE_VER2):
 * linux/sched.h's struct clone_args clashes with glibc's headers, and the installed ones may
 * be older. */
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* -1 when the folder open at `dirfd` is not a cgroup v2 folder (no cgroup.controllers: v1
 * folders lack it), else whether `controller` is one of those its cgroup.controllers lists. */
int cgroup_v2_has_at(int dirfd, const char *controller);

/* Whether this kernel gives a child cloned into a v2 group with the cpuset controller the
 * group's CPUs and memory nodes: from 6.3 on; before, cpuset_fork() kept the parent's masks for
 * CLONE_INTO_CGROUP (fixed by 42a11bf5c543); a move applies them. */
int cpuset_follows_clone_into(void);

#endif

/* libstack.so (scripts/build-native.mjs), called through koffi by src/sys/leave.ts. */
#ifndef STACK_LIB_LEAVE_H
#define STACK_LIB_LEAVE_H

/* Ends this process with `status` at once (exit_group), without making whoever waits for it wait
 * for the kernel to tear its address space down: a process of its own sharing this memory
 * (CLONE_VM) holds it until this process is gone, so the last reference, and the unmapping of
 * every page, is that holder's, after this process's parent has been told. Node's heap makes
 * that teardown ~4-5 ms of a command's end here (60 MB: 4.5 ms from exit to the parent's wait),
 * where the holder's way takes ~0.1.
 * This process closes every descriptor first (it is leaving): the holder keeps none but a pidfd of
 * it (a pipe it kept open would keep its reader waiting), and nothing waits for the holder to
 * run. The holder blocks every signal (it inherits the caller's mask, set so first: a terminal's
 * Ctrl-C reaching it must not run a handler of this process on its stack), waits on that pidfd
 * and exits. Reparented to init (or the nearest subreaper) meanwhile, it is reaped there.
 * Where it cannot be made (no close_range or pidfd_open: before Linux 5.9), this process exits
 * all the same, tearing its memory down itself. Never returns. */
void stack_leave(int status) __attribute__((noreturn));

#endif

/* libstack.so (scripts/build-native.mjs), called through koffi by src/sys/leave.ts. */
#ifndef STACK_LIB_LEAVE_H
#define STACK_LIB_LEAVE_H

/* Whether stack_leave may end this process: none of descriptors 0-2 is a terminal (Node's own
 * exit gives a terminal back the modes it found; a command at one leaves the usual way), and
 * this process is in the first pid namespace, whose init reaps (a container's pid 1 may never
 * reap, and each holder would stay a zombie). 1 if so. */
int stack_leave_possible(void);

/* Ends this process with `status` at once (exit_group), without making whoever waits for it wait
 * for the kernel to unmap its memory: a process of its own sharing that memory (CLONE_VM) holds
 * it until this process is gone, so the last reference, and the unmapping of every page, is that
 * holder's, after this process's parent has been told. A C program with 60 MB touched took 4.5
 * ms from its exit to its parent's wait, 0.07 ms with the holder.
 * First it gives the descriptors 0-2 of `restore` (bit i for descriptor i) back the O_NONBLOCK
 * they had when the process started (`nonblocking_at_start`, the same bits), as Node's exit does
 * (Node makes a pipe it writes non-blocking, and the pipe's other users, the shell's next
 * command, share that); the others are left as they are. Then it
 * closes every descriptor but the anonymous inodes (eventfd, epoll: the process's other threads
 * may still use them until exit_group ends them, and libuv's abort when their wake-up write
 * fails): a pipe the holder kept open would keep its reader waiting, and nothing waits for the
 * holder to run. The holder closes its copies of the rest but a pidfd of this process. The
 * holder inherits the caller's signal mask, set to block every signal first (but the two glibc
 * keeps for itself, whose handlers ignore a sender outside this process: a terminal's Ctrl-C
 * reaching the holder must not run a handler of this process on its stack); it leaves the
 * process's folder (its own copy of it, which would keep a mount busy), waits on the pidfd and
 * exits. Reparented to init meanwhile, it is reaped there.
 * Without /proc, descriptors 0-2 alone are closed first. Where the holder cannot be made (no
 * pidfd_open: before Linux 5.3), this process exits all the same, unmapping its memory itself;
 * before Linux 5.9 (no close_range) the holder keeps its copies until it ends, which is harmless
 * for anonymous inodes and, without /proc, keeps a pipe on a descriptor above 2 open that long.
 * Never returns. */
void stack_leave(int status, int restore, int nonblocking_at_start) __attribute__((noreturn));

#endif

/* A prepared supervisor's descriptors, taken from its caller when it is told to go. */
#ifndef STACK_LAUNCHER_TAKE_H
#define STACK_LAUNCHER_TAKE_H
#include <sys/types.h>

/* `--take-fds=PID` (with `--exec`, src/supervisor/control.ts prepareSupervisor): spawned ahead of
 * its start, the launcher places itself in the monitor group while its caller (PID, its parent)
 * goes on, then reads its stdin to the end: one line, the numbers of the caller's descriptors
 * that become its 1, 2, 3, ... in that order, then one more argument for the program (none when
 * empty). Each is copied from the caller with pidfd_getfd(2) (Linux 5.6; the caller waits until
 * they are taken, launcher.c's "t", before it closes them), stdin becomes /dev/null, and
 * `*placed_fd` is moved above them.
 * Returns 0 with `*run` the program's argv (`program` plus that argument), 1 when the caller let
 * it go (the end of stdin before anything: nothing is to run), -1 with `why` saying what failed
 * (the caller then starts the supervisor the other way). */
int take_descriptors(pid_t caller, int *placed_fd, char **program, char ***run, char *why, size_t size);

#endif

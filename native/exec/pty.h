/* The exec helper's pseudo-terminal (`stack exec` when stdin and stdout are terminals): a pty
 * of the service's own devpts instance, its slave the command's controlling terminal and
 * stdio, its master relayed to the user's terminal, which is put in raw mode meanwhile (so
 * ^C is a byte for the pty's line discipline: SIGINT reaches the command's foreground group,
 * never stack). The user's window size is copied at the start and on every SIGWINCH.
 * Its failures go through fail() (common/report.h); it opens the service's ptmx again through
 * host_proc_fd (exec/service.h). */
#ifndef STACK_EXEC_PTY_H
#define STACK_EXEC_PTY_H
#include <sys/types.h>

/* Opens the service's /dev/ptmx under its root (`rootfd`, symlinks resolved inside it), so the
 * pty belongs to the service's devpts; returns the master, and the slave owned by `uid` in *slave. */
int pty_open(int rootfd, uid_t uid, int *slave);

/* Copies the user's window size to the master (the kernel then signals the command's group). */
void pty_copy_size(int master);

/* Gives the slave the user's terminal settings, then puts the user's terminal in raw mode. */
void pty_raw_mode(int slave);

/* The user's terminal as it was (also after a failure to start the command). */
void pty_restore(void);

/* Relays between the user's terminal (fds 0 and 1) and the master until the command has ended
 * and its output is drained; forwards the other signals to the command's group. Returns its
 * wait status. */
int pty_relay(int master, pid_t child, int sigfd);

#endif

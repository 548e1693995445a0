/* Failure reports, shared by the launcher and the exec helper. One line,
 * `err\t<stage>\t<ERRNO>\t<detail>\n`, parsed by src/runtime/launch.ts and src/runtime/exec.ts.
 * Before a forked side exists the line goes straight to Node; in the forked side (the workload,
 * the exec'd command) it goes through a CLOEXEC error pipe, and the parent relays it: an exec
 * that succeeds closes that pipe with nothing written, the classic fork+exec check. */
#ifndef STACK_COMMON_REPORT_H
#define STACK_COMMON_REPORT_H
#include <stddef.h>

/* Where fail() writes: 1 by default (the launcher's result pipe); each program points it
 * elsewhere (the exec helper's fd 3, a forked side's error pipe). */
extern int report_fd;

/* Run by fail() right before it exits, when set (the exec helper restores the user's terminal). */
extern void (*fail_cleanup)(void);

/* Writes all of buf, retrying short writes, EINTR and EAGAIN (a non-blocking terminal shared
 * with another process); other errors are ignored (the reader may be gone). */
void write_all(int fd, const char *buf, size_t len);

/* Reports a failed step (`err\t<stage>\t<ERRNO>\t<detail>`) on report_fd and exits 127, like a
 * shell's "command failed to start". */
__attribute__((noreturn, format(printf, 3, 4))) void fail(const char *stage, int err, const char *fmt, ...);

/* Reads what a forked side wrote on the error pipe `fd` before it closed, NUL-terminated, and
 * closes it; returns its length (0: the exec succeeded). */
size_t read_report(int fd, char *msg, size_t size);

#endif

/* Reading files and pipes whole. */
#ifndef STACK_COMMON_FILE_H
#define STACK_COMMON_FILE_H
#include <stddef.h>
#include <sys/types.h>

/* Reads `fd` to EOF into a malloc'd buffer (`*len` bytes); fails with `stage` naming `what`
 * ("the launch request") when it cannot. */
char *read_all(int fd, size_t *len, const char *stage, const char *what);

/* Reads the start of the file at `path` (one read, as /proc files want) into `buf`,
 * NUL-terminated; returns the bytes read, or -1 when it cannot be opened or read or is empty. */
ssize_t read_small_file(const char *path, char *buf, size_t size);
/* Writes `value` to the existing file at `path` in one write (a /proc or cgroupfs setting; a
 * symlink in its last component is refused); 0, or -1 with errno. */
int write_small_file(const char *path, const char *value);

/* `a`/`b` into `buf` (`size` bytes); 0, or -1 (ENAMETOOLONG) when it does not fit. */
int path_join(char *buf, size_t size, const char *a, const char *b);

#endif
